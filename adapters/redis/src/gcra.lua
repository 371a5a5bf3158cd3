-- pacer's GCRA, run atomically inside Redis (see the pacer-redis crate docs).
--
-- Lua keeps numbers as doubles, exact for integers below 2^53, so every value here stays
-- well inside that: times are nanoseconds after a per-limit origin that moves forward in
-- whole seconds, and the theoretical arrival time (TAT) is kept exactly as a whole part and a
-- fraction over the quota's count, `w + f / c` ns with 0 <= f < c, since the emission
-- interval T = p / c is rarely a whole number of nanoseconds.
--
-- The hot path (a reservation) is three calls (TIME, GET, SET with PX; a refusal only the
-- first two) and a few dozen arithmetic steps: the state is one short string (44 bytes, which
-- Redis keeps in one allocation), the caller passes its quota already divided
-- (p = q·c + r), and no function is made per call on that path.
--
-- KEYS[1], a string packed by struct: c, b, o, f and e as 4-byte unsigned integers, p, w
-- and n as doubles (format FORMAT), and s and u after them while a pause is remembered
-- (PAUSED, 60 bytes):
--   c p b  the quota: count, period in ns, burst
--   o      the origin, whole seconds of the server's clock
--   w f    the TAT in limiter time: w + f / c ns after o
--   n      the latest clock reading seen, ns after o (a reading earlier counts as this one)
--   e      the epoch, bumped by a quota change so that older reservations cannot be cancelled
--   s      the pauses' shift, ns: limiter time is tau = max(now, u) - s
--   u      the end of the latest pause, ns after o
-- Limiter time stops during a pause: every instant not yet passed moves later with it.
--
-- ARGV[1] the operation, ARGV[2..6] the caller's quota: c, p, b, q, r with p = q·c + r.
--   r  reserve: ARGV[7] cells, ARGV[8] max wait in ns (-1: none)
--        -> {'ok', o, at, now, epoch, s, before_w, before_f, after_w, after_f}
--           {'wait', o, at, now} | {'heavy'} | {'horizon'} | {'mismatch', stored}
--   l  look: ARGV[7] cells -> {'ok', o, at, now} or an error status as above
--   s  snapshot -> {'ok', o, remaining, earliest, now} | {'mismatch', stored}
--   c  cancel: ARGV[7..13] the token: o, epoch, at (limiter time), before_w, before_f,
--        after_w, after_f -> {'ok', 1} if the cells were returned, {'ok', 0} if not
--   q  set the quota to the one passed -> {'ok'} | {'horizon'}
--        (the quota already in force: {'ok'}, nothing changed)
--   z  pause until ARGV[7] s + ARGV[8] ns of the server's clock, or (ARGV[7] = -1) for
--        ARGV[8] ns from its now -> {'ok', extended (1 or 0), o, end of the pause, now}
--        | {'long'} for a pause beyond MAX_PAUSE; a pause ending no later than the
--        current end does nothing (pauses combine to the latest end)
--   w  where a reservation stands: ARGV[7] its origin, ARGV[8] its instant in limiter
--        time -> {'ok', 0} once passed, {'ok', 1, o, at, now, s} with its instant now
--        and the shift of all pauses so far
-- A reservation at limiter instant L passed if it was due before the latest pause began
-- (L < u - s), and otherwise goes at L + s: one due when a pause begins waits it out.
-- Instants come back as (o, ns after o) on the server's clock; the client adds them up in
-- 64 bits. Tokens stay in limiter time, which a pause does not move.

local NS = 1000000000
local FLOOR = -(2 ^ 51)  -- times before this are long past: clamped, with the same effect
local HORIZON = 2 ^ 51   -- the farthest TAT, limiter ns after the origin (about 26 days)
local REBASE = 36000     -- the origin moves forward once it is this many seconds old
local MAX_PAUSE = 2 ^ 50 -- the longest pause from now, and the most a busy limit's pauses add up to
local FORMAT = '<I4dI4I4dI4dI4' -- c p b o w f n e: 44 bytes, one allocation in Redis
local PAUSED = '<I4dI4I4dI4dI4dd' -- the same and s u, while a pause is remembered

local floor, ceil = math.floor, math.ceil
local key, op = KEYS[1], ARGV[1]
local C, P, B = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local Q, R = tonumber(ARGV[5]), tonumber(ARGV[6])

local clock = redis.call('TIME') -- the server's clock, read once
local now_s, now_ns = tonumber(clock[1]), tonumber(clock[2]) * 1000
local state = redis.call('GET', key)
local c, p, b, o, w, f, n, e, s, u
if state then
  local size = #state
  if size == 44 then
    c, p, b, o, w, f, n, e = struct.unpack(FORMAT, state)
    s, u = 0, FLOOR
  elseif size == 60 then
    c, p, b, o, w, f, n, e, s, u = struct.unpack(PAUSED, state)
  else
    return redis.error_reply('pacer: the key holds a string that is not a pacer limit')
  end
else
  -- No state (new, or expired while idle): a fresh limit, its TAT long past.
  c, p, b, o, w, f, n, e, s, u = C, P, B, now_s, FLOOR, 0, FLOOR, 0, 0, FLOOR
end
-- The caller's quota is checked once per call: against the stored one (valid when it was
-- stored), or in full where it would be stored.
if not (c == C and p == P and b == B) or not state then
  if not (C and P and B and Q and R) or C < 1 or B < 1 or Q < 1 or R < 0 or R >= C
      or Q * C + R ~= P or B * P > 2 ^ 50 or B * C > 2 ^ 50 then
    return redis.error_reply('pacer: invalid quota ' .. table.concat(ARGV, ' ', 2, 6))
  end
elseif Q * C + R ~= P or R < 0 or R >= C then
  return redis.error_reply('pacer: invalid quota ' .. table.concat(ARGV, ' ', 2, 6))
end

-- Move the origin forward once it is old, so every time stays small. A time that falls
-- below FLOOR is long past, and FLOOR has the same effect.
local age = now_s - o
if age > REBASE then
  local shift = age * NS
  w, n, u = w - shift, math.max(n - shift, FLOOR), math.max(u - shift, FLOOR)
  if w < FLOOR then
    w, f = FLOOR, 0
  end
  o, age = now_s, 0
end
local now = age * NS + now_ns
if now < n then
  now = n
end
local tau = now
if u > tau then
  tau = u
end
tau = tau - s
if s ~= 0 and now >= u and tau >= w then
  -- Idle after its pauses: the limit is as a fresh one, and forgets its shift.
  w, f, s, u = FLOOR, 0, 0, FLOOR
  tau = now
end

if op == 'r' then
  if c ~= C or p ~= P or b ~= B then
    return { 'mismatch', string.format('%d:%d:%d', c, p, b) }
  end
  local k = tonumber(ARGV[7])
  if not k or k < 0 or k ~= floor(k) then
    return redis.error_reply('pacer: invalid cell count ' .. tostring(ARGV[7]))
  end
  local reply
  if k > b then
    reply = { 'heavy' }
  elseif k == 0 then
    reply = { 'ok', o, now, now, e, s, w, f, w, f }
  else
    -- at = max(tau, ceil(TAT - (b - k) · T)): the earliest instant k cells may go.
    local m = b - k
    local x = m * R
    local carry = floor(x / c)
    x = x - carry * c
    if x < 0 then
      carry, x = carry - 1, x + c
    elseif x >= c then
      carry, x = carry + 1, x - c
    end
    local at, af = w - m * Q - carry, f - x
    if af < 0 then
      at = at - 1
      af = af + c
    end
    if af > 0 then
      at = at + 1
    end
    if at < tau then
      at = tau
    end
    local max_wait = tonumber(ARGV[8])
    if max_wait and max_wait >= 0 and at + s > now + max_wait then
      return { 'wait', o, at + s, now } -- a refusal records nothing, not even its reading
    end
    -- TAT' = max(TAT, arrival(at)) + k · T, where a cell that goes at whole ns `at` is
    -- accounted just after at - 1: the earliest exact time that rounds up to `at`.
    local bw, bf = w, f
    if c > 1 then
      if w < at - 1 or (w == at - 1 and f < 1) then
        w, f = at - 1, 1
      end
    elseif w < at then
      w, f = at, 0
    end
    x = k * R
    carry = floor(x / c)
    x = x - carry * c
    if x < 0 then
      carry, x = carry - 1, x + c
    elseif x >= c then
      carry, x = carry + 1, x - c
    end
    w, f = w + k * Q + carry, f + x
    if f >= c then
      w, f = w + 1, f - c
    end
    if w > HORIZON then
      w, f = bw, bf
      reply = { 'horizon' }
    else
      reply = { 'ok', o, at + s, now, e, s, bw, bf, w, f }
    end
  end
  -- Written out here rather than by save(), so that the hot path makes no closure.
  local busy = w + s
  if u > busy then
    busy = u
  end
  local ttl = 1000
  if busy > now then
    ttl = ttl + ceil((busy - now) / 1000000)
  end
  local packed
  if s == 0 and u <= now then
    packed = struct.pack(FORMAT, c, p, b, o, w, f, now, e)
  else
    packed = struct.pack(PAUSED, c, p, b, o, w, f, now, e, s, u)
  end
  redis.call('SET', key, packed, 'PX', ttl)
  return reply
end

local function save()
  local ttl = 1000
  local busy = w + s
  if u > busy then
    busy = u
  end
  if busy > now then
    ttl = ttl + math.ceil((busy - now) / 1000000)
  end
  local packed
  if s == 0 and u <= now then
    packed = struct.pack(FORMAT, c, p, b, o, w, f, now, e)
  else
    packed = struct.pack(PAUSED, c, p, b, o, w, f, now, e, s, u)
  end
  redis.call('SET', key, packed, 'PX', ttl)
end

if op == 'w' then
  if not state then
    return { 'ok', 0 } -- expired: idle, so every reservation of it has passed
  end
  local at = tonumber(ARGV[8]) + (tonumber(ARGV[7]) - o) * NS
  -- Passed: due before the latest pause began (limiter time u - s), or its moved instant
  -- has come.
  if at < u - s or now >= at + s then
    return { 'ok', 0 }
  end
  return { 'ok', 1, o, at + s, now, s }
end

-- The rarer operations, with the arithmetic written out as functions.

-- floor(a / d) and a mod d, exact for 0 <= a < 2^53 and d >= 1.
local function divmod(a, d)
  local q = floor(a / d)
  local r = a - q * d
  if r < 0 then
    q, r = q - 1, r + d
  elseif r >= d then
    q, r = q + 1, r - d
  end
  return q, r
end

-- k · T for the quota (count, q, r), as (whole ns, fraction over count).
local function times(count, q, r, k)
  local carry, frac = divmod(k * r, count)
  return k * q + carry, frac
end

local function less(w1, f1, w2, f2)
  return w1 < w2 or (w1 == w2 and f1 < f2)
end

local function sub(count, w1, f1, w2, f2)
  local dw, df = w1 - w2, f1 - f2
  if df < 0 then
    dw, df = dw - 1, df + count
  end
  return dw, df
end

-- The earliest instant k cells may go, in limiter time: max(tau, ceil(TAT - (b - k)·T)).
local function earliest(k)
  local q, r = divmod(p, c)
  local dw, df = sub(c, w, f, times(c, q, r, b - k))
  if df > 0 then
    dw = dw + 1
  end
  return math.max(tau, dw)
end

if op == 'c' then
  if not state then
    return { 'ok', 0 }
  end
  local t_o, t_e, t_at = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
  local bw, bf = tonumber(ARGV[10]), tonumber(ARGV[11])
  local aw, af = tonumber(ARGV[12]), tonumber(ARGV[13])
  local shift = (t_o - o) * NS
  local newest = t_e == e and c == C and p == P and b == B
    and math.abs(o - t_o) <= HORIZON / NS and aw + shift == w and af == f
  local passed = t_at + shift < u - s or now >= t_at + shift + s
  if not newest or passed then
    save() -- the reading still counts as seen
    return { 'ok', 0 }
  end
  w, f = math.max(bw + shift, FLOOR), bf
  save()
  return { 'ok', 1 }
end

if op == 'z' then
  local ends_s, ends_ns = tonumber(ARGV[7]), tonumber(ARGV[8])
  if not (ends_s and ends_ns) or ends_ns < 0 then
    return redis.error_reply('pacer: invalid pause end ' .. tostring(ARGV[7]) .. ' ' .. tostring(ARGV[8]))
  end
  local ends
  if ends_s < 0 then
    ends = now + ends_ns
  else
    ends = (ends_s - o) * NS + ends_ns
  end
  if ends - now > MAX_PAUSE then
    return { 'long' }
  end
  local from = math.max(now, u)
  if ends <= from then
    return { 'ok', 0, o, math.max(u, now), now } -- over already, or within the current pause
  end
  if s + (ends - from) > MAX_PAUSE then
    return { 'long' }
  end
  -- Limiter time stops until `ends`: every instant not yet passed moves later by as much.
  s, u = s + (ends - from), ends
  save()
  return { 'ok', 1, o, u, now }
end

if op == 'q' then
  if state and c == C and p == P and b == B then
    return { 'ok' } -- already in force: nothing moves, and reservations stay cancellable
  end
  local widest = math.max(B, b)
  if widest * P > 2 ^ 50 or widest * C > 2 ^ 50 then
    return { 'horizon' }
  end
  -- ceil(a · b / d), exact, for 0 <= a, b < 2^51, 1 <= d <= 2^50 and a quotient below
  -- 2^52: the product is split into four base-2^26 digits and divided bit by bit, so no
  -- value reaches 2^53.
  local function muldiv_ceil(a, m, d)
    local base = 2 ^ 26
    local a1, a0 = divmod(a, base)
    local m1, m0 = divmod(m, base)
    local c0, p0 = divmod(a0 * m0, base)
    local c1, p1 = divmod(a1 * m0 + a0 * m1 + c0, base)
    local p3, p2 = divmod(a1 * m1 + c1, base)
    local q, r = 0, 0
    for _, digit in ipairs({ p3, p2, p1, p0 }) do
      for i = 25, 0, -1 do
        r = 2 * r + floor(digit / 2 ^ i) % 2
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
  local nw, nf
  local oq, orr = divmod(p, c)
  local bw, bf = times(c, oq, orr, b)
  local dw, df = sub(c, w, f, tau, 0)
  if not less(tau, 0, w, f) then
    -- Idle: the new quota starts fresh, its first cell accounted just after tau - 1.
    if C > 1 then
      nw, nf = tau - 1, 1
    else
      nw, nf = tau, 0
    end
  elseif not less(bw, bf, dw, df) then
    -- No backlog: the cells in the bucket carry over as cells, TAT' = tau + (δ / T) · T'
    -- with δ = TAT - tau. In fractions of 1/count' ns that is δ·c / p · p', rounded up.
    local xw, xf = divmod(muldiv_ceil(dw * c + df, P, p), C)
    nw, nf = tau + xw, xf
  else
    -- Backlog: new cells come after the last reserved instant E = TAT - b·T, with the
    -- bucket full there.
    local ew, ef = sub(c, w, f, bw, bf)
    if ef > 0 then
      ew = ew + 1
    end
    nw, nf = times(C, Q, R, widest)
    nw = nw + ew
  end
  if nw > HORIZON then
    return { 'horizon' }
  end
  c, p, b, w, f, e = C, P, B, nw, nf, e + 1
  save()
  return { 'ok' }
end

if c ~= C or p ~= P or b ~= B then
  return { 'mismatch', string.format('%d:%d:%d', c, p, b) }
end

if op == 's' then
  -- Cells that could go back to back at tau.
  local left = b
  if less(tau, 0, w, f) then
    local dw, df = sub(c, w, f, tau, 0)
    local bw, bf = times(c, Q, R, b)
    if less(bw, bf, dw, df) then
      left = 0
    else
      local owed, rest = divmod(dw * c + df, p)
      if rest > 0 then
        owed = owed + 1
      end
      left = math.max(b - owed, 0)
    end
  end
  return { 'ok', o, left, earliest(1) + s, now }
end

if op == 'l' then
  local k = tonumber(ARGV[7])
  if not k or k < 0 or k ~= floor(k) then
    return redis.error_reply('pacer: invalid cell count ' .. tostring(ARGV[7]))
  end
  if k > b then
    return { 'heavy' }
  end
  if k == 0 then
    return { 'ok', o, now, now }
  end
  local at = earliest(k)
  -- The TAT the reservation would leave must stay within the horizon.
  local aw = math.max(w, at - 1) + times(c, Q, R, k)
  if aw > HORIZON then
    return { 'horizon' }
  end
  return { 'ok', o, at + s, now }
end

return redis.error_reply('pacer: unknown operation ' .. tostring(op))
