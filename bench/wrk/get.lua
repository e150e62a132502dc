-- GET with optional Authorization / Cookie headers, from the environment (static request: built once per thread).
local authorization = os.getenv("BENCH_AUTHORIZATION")
local cookie = os.getenv("BENCH_COOKIE")
if authorization and authorization ~= "" then wrk.headers["Authorization"] = authorization end
if cookie and cookie ~= "" then wrk.headers["Cookie"] = cookie end
