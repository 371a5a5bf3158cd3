-- pacer's GCRA, run atomically inside Redis (see the pacer-redis crate docs).
--
-- Lua keeps numbers as doubles, exact for integers below 2^53, so every value here stays
-- well inside that: times are nanoseconds after a per-limiter origin that moves forward in
-- whole seconds, and the theoretical arrival time (TAT) is kept exactly as a whole part and a
-- fraction over the quota's count, `w + f / count` ns with 0 <= f < count, since the
-- emission interval T = period / count is rarely a whole number of nanoseconds.
--
-- KEYS[1], a hash:
--   q      the quota, "count:period_ns:burst"
--   o      the origin, whole seconds of the server's clock
--   w, f   the TAT, o + w + f / count ns
--   n      the latest clock reading seen, ns after o (a reading earlier counts as this one)
--   e      the epoch, bumped by set_quota so that older reservations cannot be cancelled
--
-- ARGV[1] is the operation, ARGV[2..4] the caller's quota (count, period_ns, burst):
--   reserve    ARGV[5] cells, ARGV[6] max wait in ns (-1: none)
--              -> {'ok', o, at, now, epoch, before_w, before_f, after_w, after_f}
--                 {'wait', o, at, now} | {'heavy'} | {'horizon'} | {'mismatch', stored}
--   peek       ARGV[5] cells -> {'ok', o, at, now} or an error status as above
--   snapshot   -> {'ok', o, remaining, earliest, now} | {'mismatch', stored}
--   cancel     ARGV[5..11] the token: o, epoch, at, before_w, before_f, after_w, after_f
--              -> {'ok', 1} if the cells were returned, {'ok', 0} if not
--   set_quota  ARGV[5..7] the new count, period_ns, burst -> {'ok'} | {'horizon'}
--              (the quota already in force: {'ok'}, nothing changed)
-- Instants come back as (o, ns after o); the client adds them up in 64 bits.

if redis.replicate_commands then
  redis.replicate_commands()
end

local LIMIT = 2 ^ 50     -- the largest burst · period and burst · count, in ns and cells
local HORIZON = 2 ^ 51   -- the farthest TAT, in ns after the origin (about 26 days)
local FLOOR = -(2 ^ 51)  -- times before this are long past: clamped, with the same effect
local REBASE = 36000     -- the origin moves forward once it is this many seconds old
local NS = 1000000000

local function clock() -- CLOCK: the server's time, seconds and nanoseconds
  local t = redis.call('TIME')
  return tonumber(t[1]), tonumber(t[2]) * 1000
end

-- floor(a / d) and a mod d, exact for 0 <= a < 2^53 and d >= 1.
local function divmod(a, d)
  local q = math.floor(a / d)
  local r = a - q * d
  if r < 0 then
    q, r = q - 1, r + d
  elseif r >= d then
    q, r = q + 1, r - d
  end
  return q, r
end

-- ceil(a · b / d), exact, for 0 <= a, b < 2^51, 1 <= d <= 2^50 and a quotient below 2^52:
-- the product is split into four base-2^26 digits and divided bit by bit, so no value
-- reaches 2^53. Only a quota change uses it.
local function muldiv_ceil(a, b, d)
  local B = 2 ^ 26
  local a1, a0 = divmod(a, B)
  local b1, b0 = divmod(b, B)
  local c0, p0 = divmod(a0 * b0, B)
  local c1, p1 = divmod(a1 * b0 + a0 * b1 + c0, B)
  local p3, p2 = divmod(a1 * b1 + c1, B)
  local q, r = 0, 0
  for _, digit in ipairs({ p3, p2, p1, p0 }) do
    for k = 25, 0, -1 do
      r = 2 * r + math.floor(digit / 2 ^ k) % 2
      q = 2 * q
      if r >= d then
        q, r = q + 1, r - d
      end
    end
  end
  if r > 0 then
    q = q + 1
  end
  return q
end

local function quota(count, period, burst)
  local c, p, b = tonumber(count), tonumber(period), tonumber(burst)
  if not (c and p and b) or c < 1 or b < 1 or p < c or b * p > LIMIT or b * c > LIMIT then
    return nil
  end
  local q, r = divmod(p, c)
  return { c = c, p = p, b = b, q = q, r = r, text = count .. ':' .. period .. ':' .. burst }
end

-- k · T, as (whole ns, fraction over c); k * r < k * c <= LIMIT.
local function times(Q, k)
  local carry, f = divmod(k * Q.r, Q.c)
  return k * Q.q + carry, f
end

local function add(Q, w1, f1, w2, f2)
  local w, f = w1 + w2, f1 + f2
  if f >= Q.c then
    w, f = w + 1, f - Q.c
  end
  return w, f
end

local function sub(Q, w1, f1, w2, f2)
  local w, f = w1 - w2, f1 - f2
  if f < 0 then
    w, f = w - 1, f + Q.c
  end
  return w, f
end

local function less(w1, f1, w2, f2)
  return w1 < w2 or (w1 == w2 and f1 < f2)
end

local function ceil(w, f)
  if f > 0 then
    return w + 1
  end
  return w
end

-- Where a cell that goes at whole ns `at` is accounted: the earliest exact time that rounds
-- up to `at`, just after at - 1 (handed-out instants are exact ones rounded up, so this
-- keeps a backlog free of drift and every later cell within the rounding the rule allows).
local function arrival(Q, at)
  if Q.c > 1 then
    return at - 1, 1
  end
  return at, 0
end

-- at = max(now, ceil(TAT - (b - n) · T)): the earliest instant n cells may go.
local function earliest(Q, w, f, now, n)
  local dw, df = sub(Q, w, f, times(Q, Q.b - n))
  return math.max(now, ceil(dw, df))
end

-- TAT' = max(TAT, arrival(at)) + n · T: the n cells recorded at `at`.
local function advance(Q, w, f, at, n)
  local aw, af = arrival(Q, at)
  if less(w, f, aw, af) then
    w, f = aw, af
  end
  return add(Q, w, f, times(Q, n))
end

-- Cells that could go back to back at now.
local function remaining(Q, w, f, now)
  if not less(now, 0, w, f) then
    return Q.b
  end
  local dw, df = sub(Q, w, f, now, 0)
  local bw, bf = times(Q, Q.b)
  if less(bw, bf, dw, df) then
    return 0
  end
  local owed, rest = divmod(dw * Q.c + df, Q.p)
  if rest > 0 then
    owed = owed + 1
  end
  return math.max(Q.b - owed, 0)
end

local key, op = KEYS[1], ARGV[1]
local Q = quota(ARGV[2], ARGV[3], ARGV[4])
if not Q then
  return redis.error_reply('pacer: invalid quota ' .. tostring(ARGV[2]) .. ':' .. tostring(ARGV[3]) .. ':' .. tostring(ARGV[4]))
end

local now_s, now_ns = clock()
local h = redis.call('HMGET', key, 'q', 'o', 'w', 'f', 'n', 'e')
local stored, o, w, f, seen, epoch
if h[1] then
  stored, o, w, f = h[1], tonumber(h[2]), tonumber(h[3]), tonumber(h[4])
  seen, epoch = tonumber(h[5]), tonumber(h[6])
else
  -- No state (new, or expired while idle): a fresh limiter, its TAT long past.
  stored, o, w, f, seen, epoch = Q.text, now_s, FLOOR, 0, FLOOR, 0
end

-- Move the origin forward once it is old, so every time stays small. A TAT or reading that
-- falls below FLOOR is long past, and FLOOR has the same effect.
local age = now_s - o
if age > REBASE then
  local shift = age * NS
  if age > 2 * HORIZON / NS then
    w, f, seen = FLOOR, 0, FLOOR
  else
    w, seen = w - shift, seen - shift
    if w < FLOOR then
      w, f = FLOOR, 0
    end
    seen = math.max(seen, FLOOR)
  end
  o, age = now_s, 0
end
local now = math.max(age * NS + now_ns, seen)

local function save()
  local ttl = 1000
  if less(now, 0, w, f) then
    ttl = ttl + math.ceil((w - now) / 1000000)
  end
  redis.call('HSET', key, 'q', stored, 'o', o, 'w', w, 'f', f, 'n', now, 'e', epoch)
  redis.call('PEXPIRE', key, ttl)
end

if op == 'cancel' then
  local t_o, t_e, t_at = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
  local bw, bf, aw, af = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
  if not h[1] then
    return { 'ok', 0 }
  end
  local shift = (t_o - o) * NS
  local newest = t_e == epoch and stored == Q.text and math.abs(o - t_o) <= HORIZON / NS
    and aw + shift == w and af == f
  if not newest or now >= t_at + shift then
    save() -- the reading still counts as seen
    return { 'ok', 0 }
  end
  w, f = math.max(bw + shift, FLOOR), bf
  save()
  return { 'ok', 1 }
end

if op == 'set_quota' then
  local N = quota(ARGV[5], ARGV[6], ARGV[7])
  if not N then
    return redis.error_reply('pacer: invalid quota ' .. tostring(ARGV[5]) .. ':' .. tostring(ARGV[6]) .. ':' .. tostring(ARGV[7]))
  end
  if h[1] and N.text == stored then
    return { 'ok' } -- already in force: nothing moves, and reservations stay cancellable
  end
  local O = quota(stored:match('^(%d+):(%d+):(%d+)$'))
  local widest = math.max(N.b, O and O.b or 1)
  if widest * N.p > LIMIT or widest * N.c > LIMIT then
    return { 'horizon' }
  end
  local nw, nf
  if not O or not less(now, 0, w, f) then
    -- Idle: the new quota starts fresh.
    nw, nf = arrival(N, now)
  else
    local dw, df = sub(O, w, f, now, 0)
    local bw, bf = times(O, O.b)
    if not less(bw, bf, dw, df) then
      -- No backlog: the cells in the bucket carry over as cells, TAT' = now + (δ / T) · T'
      -- with δ = TAT - now. In fractions of 1/count' ns that is δ·c / p · p', rounded up.
      local x = muldiv_ceil(dw * O.c + df, N.p, O.p)
      local xw, xf = divmod(x, N.c)
      nw, nf = add(N, now, 0, xw, xf)
    else
      -- Backlog: new cells come after the last reserved instant E = TAT - b·T, with the
      -- bucket full there.
      local ew, ef = sub(O, w, f, bw, bf)
      nw, nf = add(N, ceil(ew, ef), 0, times(N, widest))
    end
  end
  if nw > HORIZON then
    return { 'horizon' }
  end
  stored, w, f, epoch = N.text, nw, nf, epoch + 1
  save()
  return { 'ok' }
end

if stored ~= Q.text then
  return { 'mismatch', stored }
end

if op == 'snapshot' then
  return { 'ok', o, remaining(Q, w, f, now), earliest(Q, w, f, now, 1), now }
end

local n = tonumber(ARGV[5])
if not n or n < 0 or n ~= math.floor(n) then
  return redis.error_reply('pacer: invalid cell count ' .. tostring(ARGV[5]))
end
if op ~= 'reserve' and op ~= 'peek' then
  return redis.error_reply('pacer: unknown operation ' .. tostring(op))
end

-- A reservation's reading counts as seen whatever the answer; a look records nothing.
local function answer(reply)
  if op == 'reserve' then
    save()
  end
  return reply
end

if n > Q.b then
  return answer({ 'heavy' })
end
if n == 0 then
  if op == 'peek' then
    return { 'ok', o, now, now }
  end
  return answer({ 'ok', o, now, now, epoch, w, f, w, f })
end
local at = earliest(Q, w, f, now, n)
local max_wait = tonumber(ARGV[6])
if op == 'reserve' and max_wait and max_wait >= 0 and at > now + max_wait then
  return answer({ 'wait', o, at, now })
end
local aw, af = advance(Q, w, f, at, n)
if aw > HORIZON then
  return answer({ 'horizon' })
end
if op == 'peek' then
  return { 'ok', o, at, now }
end
local bw, bf = w, f
w, f = aw, af
return answer({ 'ok', o, at, now, epoch, bw, bf, aw, af })
