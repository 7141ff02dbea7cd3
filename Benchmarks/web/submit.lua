-- wrk: POST /api/v1/requests with the session of one signed-in mailbox and
-- one CSR (the same key may be requested again for the same mailbox).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["Cookie"] = "mailseal_session=" .. os.getenv("SESSION") .. "; mailseal_csrf=" .. os.getenv("CSRF")
wrk.headers["X-CSRF-Token"] = os.getenv("CSRF")
local file = io.open(os.getenv("BODY_FILE"), "r")
wrk.body = file:read("*a")
file:close()
