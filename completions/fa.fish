# fish completion for the fa tools: fa-pg fa-copy fa-serve fa-mcp fa-bench.
#
# Each tool completes itself: `TOOL --complete N WORD0 WORD1 ...` prints
# the candidates for word N, one per line, from the same option table as
# its --help.  A line "@file" or "@dir" asks for file or directory names.
# When the tool cannot be run, nothing is offered and nothing is printed.
#
# fish loads completions by command name: install this file as
# fa-pg.fish (and so on for each tool), or source it.

function __fa_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    set -l n (count $words)
    type -q -- $words[1]; or return
    # the tools count the command name as word 0: the current word is
    # at index count-of-words-before-it
    for line in (command $words[1] --complete $n $words $cur </dev/null 2>/dev/null)
        switch $line
            case @file
                __fish_complete_path $cur
            case @dir
                __fish_complete_directories $cur
            case ''
            case '*'
                echo $line
        end
    end
end

for tool in fa-pg fa-copy fa-serve fa-mcp fa-bench
    complete -c $tool -f -a '(__fa_complete)'
end
