-- Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d), as the local
-- stack's postgres component does after start: the statistics the collectors read.
create extension if not exists pg_stat_statements;
