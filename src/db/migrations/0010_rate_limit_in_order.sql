-- The rate-limit store's hitInOrder (src/abuse/rate-limit-store-postgres.ts): several counters hit or read in
-- order in one call, stopping after the first past its limit; kinds[i] is 'hit' (count one) or 'peek' (only read).
-- A function rather than one statement of CTEs: its statements' plans are cached per connection, where an
-- unprepared CTE of upserts was parsed and planned on every login.
CREATE FUNCTION rate_limit_in_order(keys text[], kinds text[], window_ms bigint[], maxes integer[])
RETURNS TABLE (step_count integer, step_reset_at_ms double precision)
LANGUAGE plpgsql AS $$
DECLARE
  seen_count integer;
  seen_reset_at timestamptz;
BEGIN
  FOR i IN 1 .. coalesce(array_length(keys, 1), 0) LOOP
    IF kinds[i] = 'peek' THEN
      SELECT r.count, r.reset_at INTO seen_count, seen_reset_at FROM rate_limits r WHERE r.key = keys[i] AND r.reset_at > now();
      seen_count := coalesce(seen_count, 0);
    ELSE
      INSERT INTO rate_limits AS r (key, count, reset_at) VALUES (keys[i], 1, now() + window_ms[i] * interval '1 millisecond')
      ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN r.reset_at <= now() THEN excluded.count ELSE r.count + 1 END,
        reset_at = CASE WHEN r.reset_at <= now() THEN excluded.reset_at ELSE r.reset_at END
      RETURNING r.count, r.reset_at INTO seen_count, seen_reset_at;
    END IF;
    step_count := seen_count;
    step_reset_at_ms := extract(epoch FROM seen_reset_at) * 1000;
    RETURN NEXT;
    EXIT WHEN CASE WHEN kinds[i] = 'peek' THEN seen_count >= maxes[i] ELSE seen_count > maxes[i] END;
  END LOOP;
END $$;
