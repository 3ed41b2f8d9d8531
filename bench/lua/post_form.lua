-- POST a fixed form with an X-Twilio-Signature: wrk ... -- <body> <signature>
function init(args)
  wrk.method = "POST"
  wrk.body = args[1]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["X-Twilio-Signature"] = args[2]
end
