-- POST /auth/login with one valid email/password (JSON). Static request; no Origin and no cookie, like an API client.
wrk.method = "POST"
wrk.path = "/auth/login"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_LOGIN_BODY")
