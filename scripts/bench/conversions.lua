-- wrk script for scripts/bench-conversions.sh: POST /api/v1/conversions with unique event ids
-- (or, with MODE=dup, the ids of an earlier run) and referral codes read from CODES_FILE.
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

function init(args)
  key = os.getenv("KEY")
  prefix = os.getenv("PREFIX") or "run"
  codes = {}
  for line in io.lines(os.getenv("CODES_FILE")) do
    table.insert(codes, line)
  end
  counter = 0
end

function request()
  counter = counter + 1
  local id = string.format("%s-%d-%d", prefix, tid, counter)
  local code = codes[(counter % #codes) + 1]
  local body = string.format(
    '{"campaign":"bench","event_id":"%s","event":"purchase","referral_code":"%s","email":"%s@bench.test","amount":4900,"currency":"USD"}',
    id, code, id)
  return wrk.format("POST", "/api/v1/conversions",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }, body)
end
