# bash completion for the fa tools: fa-pg fa-copy fa-serve fa-mcp fa-bench.
#
# Each tool completes itself: `TOOL --complete N WORD0 WORD1 ...` prints
# the candidates for word N, one per line, from the same option table as
# its --help.  A line "@file" or "@dir" asks for file or directory names.
# When the tool cannot be run, nothing is offered and nothing is printed.

_fa() {
	local cmd=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prefix=
	local -a words=() out=()
	local i n w cword=0 joined=0 line

	COMPREPLY=()
	[[ $cmd == "~/"* ]] && cmd=$HOME/${cmd#"~/"}

	# bash splits "--format=js" at '=' (COMP_WORDBREAKS): join it back so
	# the tool sees the option and its value as one word, as typed.
	for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		n=${#words[@]}
		if ((n > 1)) && [[ $w == "=" && ${words[n-1]} == --?* && ${words[n-1]} != *=* ]]; then
			words[n-1]+=$w
			joined=1
		elif ((n > 1 && joined)); then
			words[n-1]+=$w
			joined=0
		else
			words+=("$w")
			joined=0
		fi
		((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
	done

	# What readline replaces is the text after the last '=' of a joined
	# word, so candidates lose the "--option=" part.
	if [[ ${words[cword]} != "$cur" && ${words[cword]} == *=* ]]; then
		cur=${words[cword]##*=}
		prefix=${words[cword]%"$cur"}
	fi

	mapfile -t out < <("$cmd" --complete "$cword" "${words[@]}" </dev/null 2>/dev/null)
	for line in "${out[@]}"; do
		case $line in
		@file)
			compopt -o filenames 2>/dev/null
			mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur")
			;;
		@dir)
			compopt -o filenames 2>/dev/null
			mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$cur")
			;;
		?*)
			COMPREPLY+=("${line#"$prefix"}")
			;;
		esac
	done
	return 0
}

complete -F _fa fa-pg fa-copy fa-serve fa-mcp fa-bench
