-- Foundation: the schema every later migration builds in, and the group role
-- every person's login role belongs to. The full role model (adjudicator,
-- credentialing, supervisor) and row security come with the data model.

-- Roles are cluster-wide, so create them only when absent: a second database
-- on the same cluster (tests, staging) must migrate cleanly too.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'claimdesk_staff') THEN
        CREATE ROLE claimdesk_staff NOLOGIN;
    END IF;
END
$$;

CREATE SCHEMA claimdesk;
COMMENT ON SCHEMA claimdesk IS 'ClaimDesk payer data; clients reach it only through granted objects.';

-- Nobody but the owner may create objects anywhere; desktop clients are not trusted.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA claimdesk FROM PUBLIC;
GRANT USAGE ON SCHEMA claimdesk TO claimdesk_staff;
