-- wrk: POST /login with a fresh address each time (the form's double-submit
-- token comes from the environment, read by measure_http.sh).
local token = os.getenv("FORM_TOKEN")
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "mailseal_form=" .. token
wrk.headers["Accept"] = "text/html"
request = function()
  counter = counter + 1
  local address = string.format("load%d-%d@example.edu", math.random(1, 1000000000), counter)
  return wrk.format(nil, "/login", nil, "address=" .. address .. "&csrf=" .. token)
end
