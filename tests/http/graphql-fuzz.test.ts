import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { registerAdmin } from "../support/admin.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createTestApp, registerUser, TEST_ORIGIN, type TestApp } from "../support/test-app.ts";

/**
 * Issue 21: whatever values a client puts in the variables (and the shape of the request body), /graphql answers a
 * clean GraphQL error with a stable code, never a 5xx. The admin operations run as an administrator, so the
 * variables reach the services. The sessions are fresh, so no STEP_UP_REQUIRED stops them early.
 */
let t: TestApp;
let adminToken: string;
let userToken: string;
beforeAll(async () => {
  t = await createTestApp({}, { logger: createLogger({ level: "error" }) });
  adminToken = (await registerAdmin(t)).accessToken;
  userToken = (await registerUser(t)).accessToken;
});
afterAll(async () => {
  await t.close();
});

const OPERATIONS = [
  "query($first: Int, $after: String) { auditEvents(first: $first, after: $after) { nodes { id } pageInfo { endCursor } } }",
  "query($query: String, $role: String, $status: String, $first: Int, $after: String) { users(query: $query, role: $role, status: $status, first: $first, after: $after) { nodes { id sessions { id } } } }",
  "query($id: ID!) { user(id: $id) { id } }",
  "mutation($username: String, $email: String, $currentPassword: String) { updateMe(username: $username, email: $email, currentPassword: $currentPassword) { id } }",
  "mutation($currentPassword: String, $newPassword: String) { changePassword(currentPassword: $currentPassword, newPassword: $newPassword) }",
  "mutation($id: ID!) { revokeSession(id: $id) }",
  "mutation($id: ID!, $reason: String, $expiresAt: String) { banUser(id: $id, reason: $reason, expiresAt: $expiresAt) { id } }",
  "mutation($id: ID!, $roles: [String!]) { setUserRoles(id: $id, roles: $roles) { id } }",
];
const NAMES = ["first", "after", "query", "role", "status", "id", "username", "email", "currentPassword", "newPassword", "reason", "expiresAt", "roles"];

const value: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ unit: "grapheme", maxLength: 80 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.uuid(),
  fc.array(fc.string({ maxLength: 40 }), { maxLength: 40 }),
  fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 5 }),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
);

it("no variables, however malformed, make /graphql answer a 5xx or an error without a code", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...OPERATIONS),
      fc.dictionary(fc.constantFrom(...NAMES), value, { maxKeys: 6 }),
      fc.constantFrom(adminToken, userToken),
      async (query, variables, token) => {
        const response = await t.request("POST", "/graphql", { query, variables }, { authorization: `Bearer ${token}` });
        expect(response.status, JSON.stringify(variables)).toBeLessThan(500);
        const body = (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
        for (const error of body.errors ?? []) expect(error.extensions?.code, JSON.stringify(error)).toMatch(/^[A-Z_]+$/);
        expect(body.errors?.some((error) => error.extensions?.code === "INTERNAL_ERROR") ?? false).toBe(false);
      },
    ),
    { numRuns: 250 },
  );
});

it("no request body, however malformed, makes /graphql answer a 5xx", async () => {
  const body = fc.oneof(
    fc.string({ maxLength: 400 }),
    fc.json({ maxDepth: 4 }),
    fc.record({ query: value, variables: value, operationName: value, extensions: value }, { requiredKeys: [] }).map((record) => JSON.stringify(record)),
  );
  await fc.assert(
    fc.asyncProperty(body, fc.constantFrom("application/json", "text/plain", "application/graphql-response+json"), async (text, type) => {
      const response = await t.request("POST", "/graphql", text, { authorization: `Bearer ${userToken}`, "content-type": type, origin: TEST_ORIGIN });
      expect(response.status, text).toBeLessThan(500);
    }),
    { numRuns: 250 },
  );
});
