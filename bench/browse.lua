-- wrk script: each request as a random signed-in reader, to a random path.
-- BENCH_READERS: a file of "cookie<TAB>Accept-Language" lines; BENCH_PATHS: a
-- file of paths; BENCH_USER_AGENT: the User-Agent the sessions signed in with.
local readers, paths = {}, {}
for line in io.lines(os.getenv("BENCH_READERS")) do
  local cookie, language = line:match("^(.-)\t(.*)$")
  readers[#readers + 1] = {cookie = cookie, language = language}
end
for line in io.lines(os.getenv("BENCH_PATHS")) do
  paths[#paths + 1] = line
end
local agent = os.getenv("BENCH_USER_AGENT")

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function init(args)
  math.randomseed(seed)
end

function request()
  local reader = readers[math.random(#readers)]
  local headers = {
    ["Cookie"] = reader.cookie,
    ["Accept-Language"] = reader.language,
    ["User-Agent"] = agent,
  }
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
