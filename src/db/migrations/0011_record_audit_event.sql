-- The audit log's write of an event that maps to webhook events (src/observability/audit.ts): the audit row and one
-- outbox delivery per webhook event and subscribed enabled endpoint, written together (a function's statements are
-- one statement's transaction), returning how many deliveries were written. A function rather than one statement
-- of CTEs: its statements' plans are cached per connection, where the unprepared CTE was parsed and planned on
-- every login (twice, with a session evicted by the cap), on PostgreSQL and on the embedded database alike.
CREATE FUNCTION record_audit_event(
  event_type text,
  subject_user_id uuid,
  acting_user_id uuid,
  subject_session_id uuid,
  event_payload jsonb,
  client_ip text,
  client_user_agent text,
  client_request_id text,
  deliveries_at timestamptz,
  webhook_events jsonb
)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  deliveries integer;
BEGIN
  INSERT INTO audit_events (type, user_id, actor_id, session_id, payload, ip_address, user_agent, request_id)
  VALUES (event_type, subject_user_id, acting_user_id, subject_session_id, event_payload, client_ip, client_user_agent, client_request_id);
  INSERT INTO outbox_messages (kind, payload, endpoint_id, available_at)
  SELECT 'webhook', event->>'body', endpoint.id, deliveries_at
  FROM jsonb_array_elements(webhook_events) AS event
  JOIN webhook_endpoints endpoint ON endpoint.enabled AND (endpoint.event_types = '[]'::jsonb OR endpoint.event_types ? (event->>'type'));
  GET DIAGNOSTICS deliveries = ROW_COUNT;
  RETURN deliveries;
END $$;
