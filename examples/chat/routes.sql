-- A chat over LISTEN/NOTIFY, for fa-serve (see man fa-sql.5):
--
--   fa-pg -f examples/chat/schema.sql
--   fa-serve examples/chat/routes.sql
--
-- Each client opens ws://HOST/chat to read the room's last messages (the
-- snapshot) and then every new one as it is said, and speaks through
-- ws://HOST/chat/ROOM with messages like {"author":"ann","body":"hi"}.
-- Saying is an INSERT whose pg_notify commits with it, so the readers of
-- every fa-serve worker (and every fa-serve process on the database) get
-- it once it is stored, never before.

-- name: chat_say
-- route: WS /chat/:room
-- param: room text  The room, from the path
-- param: author text  Who speaks
-- param: body text  What they say
-- returns: one
WITH m AS (
	INSERT INTO chat.messages (room, author, body) VALUES (:room, :author, :body)
	RETURNING id, room, author, body
)
SELECT id, pg_notify('chat', json_build_object('id', id, 'room', room, 'author', author,
						'body', body)::text) IS NULL AS quiet
FROM m;

-- name: chat_feed
-- route: GET /chat
-- listen: chat
SELECT id, room, author, body FROM (
	SELECT * FROM chat.messages ORDER BY id DESC LIMIT 20
) last ORDER BY id;
