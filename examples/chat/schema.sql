-- The chat of examples/chat/routes.sql: one table of messages.
CREATE SCHEMA IF NOT EXISTS chat;
CREATE TABLE IF NOT EXISTS chat.messages (
	id bigserial PRIMARY KEY,
	room text NOT NULL,
	author text NOT NULL CHECK (author <> ''),
	body text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
	at timestamptz NOT NULL DEFAULT now()
);
