-- What pg-advisor needs in a database: pg_stat_statements and HypoPG, and a role with the
-- least privileges it works with. The official postgres image runs this once, with psql as
-- the superuser in POSTGRES_DB, when it initialises an empty data directory; to prepare
-- another database, run it the same way:
--   ADVISOR_PASSWORD=... psql -v ON_ERROR_STOP=1 -d app -f 10-pg-advisor.sql
-- pg_stat_statements must also be in shared_preload_libraries (a server restart).
\set ON_ERROR_STOP on
\getenv advisor_password ADVISOR_PASSWORD
\if :{?advisor_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'set ADVISOR_PASSWORD: the password of the role advisor'; END $$;
\endif

CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE EXTENSION IF NOT EXISTS hypopg;

SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'advisor') AS create_role \gset
\if :create_role
CREATE ROLE advisor LOGIN PASSWORD :'advisor_password';
\else
ALTER ROLE advisor LOGIN PASSWORD :'advisor_password';
\endif
-- Other roles' statement texts in pg_stat_statements.
GRANT pg_read_all_stats TO advisor;
GRANT CONNECT ON DATABASE :"DBNAME" TO advisor;
GRANT USAGE ON SCHEMA public TO advisor;
-- The advisor never reads rows: SELECT is what PostgreSQL requires to EXPLAIN a statement.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO advisor;
-- And the tables this role creates later (for tables created by another role, run
-- ALTER DEFAULT PRIVILEGES FOR ROLE that_role ... as well).
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO advisor;
