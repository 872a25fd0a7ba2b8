-- Remark codes (RARCs) explain an adjustment reason (CARC); on its own a
-- remark says nothing. The decision panel offers a remark only beside the
-- reasons it explains, so each remark lists them. The pairs follow how the
-- remarks are used on remittances; descriptions stay our own wording.
--
-- Central checks only that every remark on a decided line is a known code:
-- the engine puts general remarks (N130) beside many reasons, and the
-- pairing rule is for the person choosing, checked in the panel and again
-- by the desktop's decision core before anything is queued.
SET LOCAL search_path = claimdesk, public, pg_catalog;

ALTER TABLE rarc ADD COLUMN carcs text[] NOT NULL DEFAULT '{}';

INSERT INTO rarc (code, description) VALUES
    ('N30', 'Patient not eligible for this service'),
    ('M86', 'Payment already made for the same or a similar procedure'),
    ('N115', 'Decision based on a local coverage determination'),
    ('N362', 'Days or units exceed the maximum allowed'),
    ('MA04', 'Secondary payment needs the primary payer''s payment information'),
    ('M127', 'Medical record for this service missing'),
    ('N570', 'Credentialing data missing, incomplete or invalid'),
    ('N59', 'See the provider manual for program rules'),
    ('N211', 'This decision cannot be appealed');

UPDATE rarc SET carcs = v.carcs
FROM (VALUES
    ('N130', '{96,119,167,204}'::text[]),
    ('M15', '{97,236}'),
    ('N20', '{97,236}'),
    ('M80', '{97,236}'),
    ('MA130', '{4,16}'),
    ('N290', '{16,185}'),
    ('N381', '{45}'),
    ('N4', '{16,22}'),
    ('N54', '{197}'),
    ('N657', '{16,50}'),
    ('N30', '{26,27,31}'),
    ('M86', '{18}'),
    ('N115', '{50,167}'),
    ('N362', '{119}'),
    ('MA04', '{22}'),
    ('M127', '{16,50}'),
    ('N570', '{185,B7}'),
    ('N59', '{4,5}'),
    ('N211', '{18,29}')
) AS v(code, carcs)
WHERE rarc.code = v.code;

-- Every listed reason must exist: a typo here would hide a remark for good.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM rarc, unnest(carcs) c WHERE c NOT IN (SELECT code FROM carc)) THEN
        RAISE EXCEPTION 'a remark lists an unknown reason code';
    END IF;
END $$;

-- Decisions rewrite a line's remarks; only known codes may land there.
-- (Seeding writes lines by COPY with the engine's remarks and skips this.)
CREATE FUNCTION claim_line_remarks_known() RETURNS trigger
LANGUAGE plpgsql SET search_path = claimdesk, pg_catalog AS $$
DECLARE
    unknown text;
BEGIN
    SELECT r INTO unknown FROM unnest(NEW.rarc) r WHERE NOT EXISTS (SELECT 1 FROM rarc WHERE code = r) LIMIT 1;
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'remark % is not a known remark code', unknown USING ERRCODE = 'CD005';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER claim_line_remarks_known BEFORE UPDATE OF rarc ON claim_line
    FOR EACH ROW WHEN (NEW.rarc IS DISTINCT FROM OLD.rarc)
    EXECUTE FUNCTION claim_line_remarks_known();
