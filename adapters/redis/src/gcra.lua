-- pacer's GCRA, run atomically inside Redis (see the pacer-redis crate docs).
--
-- Lua keeps numbers as doubles, exact for integers below 2^53, so every value here stays
-- well inside that: times are nanoseconds after a per-limit origin that moves forward in
-- whole seconds, and the theoretical arrival time (TAT) is kept exactly as a whole part and a
-- fraction over the quota's count, `w + f / c` ns with 0 <= f < c, since the emission
-- interval T = p / c is rarely a whole number of nanoseconds.
--
-- The hot path (a reservation) is three calls (TIME, GET or MGET, SET with PX; a refusal only
-- the first two) and a few dozen arithmetic steps. What a call costs the server is mostly the
-- values that cross between Redis and Lua, so they are few: the call is one argument of 33
-- bytes, the state one short string (44 bytes, which Redis keeps in one allocation), and a
-- `try` admission answers the integer 1. No function is made per call on that path.
--
-- KEYS[1], a string packed by struct: c, b, o, f and e as 4-byte unsigned integers, p, w
-- and n as doubles (format FORMAT), and s, u and v after them while a pause or the whole
-- table's pause touches it (TABLED, 68 bytes; PAUSED, 60 bytes, without v, is still read):
--   c p b  the quota: count, period in ns, burst
--   o      the origin, whole seconds of the table's clock (below)
--   w f    the TAT in limiter time: w + f / c ns after o
--   n      the latest clock reading seen, ns after o (a reading earlier counts as this one)
--   e      the epoch, bumped by a quota change so that older reservations cannot be cancelled
--   s      the pauses' shift, ns: limiter time is tau = max(now, u) - s
--   u      the end of the latest pause, ns after o
--   v      the table's shift S that the state's times were written in
-- Limiter time stops during a pause: every instant not yet passed moves later with it.
--
-- KEYS[2], present for a keyed limiter's keys: the pause of its whole table, every key at
-- once (TABLE: S, and the end U as seconds and ns of the server's clock). The table's clock
-- is max(now, U) - S: it stops during the table's pauses, and each key runs its own clock,
-- pauses included, on it. So a table pause moves every key's instants not yet passed later
-- by as much, without touching any key; a key's times are instants of the table's clock,
-- and an instant x of it is the server's x + S. Without KEYS[2], S = 0: the server's clock.
--
-- ARGV[1] the call, packed by struct (CALL): the caller's quota c, p, b, the operation, and
-- two numbers X, Y of the operation; further ARGV as text.
--   t  try: reserve X cells unless they would wait more than Y ns (-1: no bound)
--        -> 1 | {'wait', o, at, now} | {'heavy'} | {'horizon'} | {'mismatch', stored}
--   r  reserve, the same -> a string of nine doubles: o, at, now, epoch, shift, before_w,
--        before_f, after_w, after_f; or a refusal as above
--   l  look: X cells -> {'ok', o, at, now} or an error status as above
--   s  snapshot -> {'ok', o, remaining, earliest, now} | {'mismatch', stored}
--   c  cancel: ARGV[2..8] the token: o, epoch, at (limiter time), before_w, before_f,
--        after_w, after_f -> {'ok', 1} if the cells were returned, {'ok', 0} if not
--   q  set the quota to the one passed -> {'ok'} | {'horizon'}
--        (the quota already in force: {'ok'}, nothing changed)
--   z  pause until X s + Y ns of the server's clock, or (X = -1) for Y ns from its now
--        -> {'ok', extended (1 or 0), o, end of the pause, now}
--        | {'long'} for a pause beyond MAX_PAUSE; a pause ending no later than the
--        current end does nothing (pauses combine to the latest end)
--   w  where a reservation stands: X its origin, Y its instant in limiter time
--        -> {'ok', 0} once passed, {'ok', 1, o, at, now, shift} with its instant now
--        and the shift of all pauses so far
--   Z  on KEYS[1] a table's pause entry: pause the whole table as z does one key; X = -2
--        only reads it -> {'ok', extended, o, end of the pause, now} | {'long'}
-- A reservation at limiter instant L passed if it was due before the latest pause began
-- (L < u - s), and otherwise goes at L + s: one due when a pause begins waits it out.
-- Instants come back as (o, ns after o) on the server's clock, and the shift as the key's
-- and the table's together; the client adds them up in 64 bits. Tokens stay in limiter
-- time, which a pause does not move.

local NS = 1000000000
local FLOOR = -(2 ^ 51)  -- times before this are long past: clamped, with the same effect
local HORIZON = 2 ^ 51   -- the farthest TAT, limiter ns after the origin (about 26 days)
local REBASE = 36000     -- the origin moves forward once it is this many seconds old
local MAX_PAUSE = 2 ^ 50 -- the longest pause from now, and the most a busy limit's pauses add up to
local MAX_TABLE_SHIFT = 2 ^ 51 -- the most a table's pauses add up to while its entry lives
local TABLE_KEPT = 3456000000 -- ms a table's pause entry is kept after its pause ends (40 days)
local FORMAT = '<I4dI4I4dI4dI4' -- c p b o w f n e: 44 bytes, one allocation in Redis
local PAUSED = '<I4dI4I4dI4dI4dd' -- the same and s u (written by older versions)
local TABLED = '<I4dI4I4dI4dI4ddd' -- the same and s u v, while a pause touches the key
local TABLE = '<ddd' -- a table's pause: S, U seconds, U ns
local CALL = '<I4dI4c1dd' -- the call: c p b, the operation, X Y

local floor, ceil = math.floor, math.ceil
local key, call = KEYS[1], ARGV[1]
if #call ~= 33 then
  return redis.error_reply('pacer: a call this script cannot read (every client needs the same pacer-redis)')
end
local C, P, B, op, X, Y = struct.unpack(CALL, call)
-- The period divided by the count: p = Q·c + R, exact (the quotient corrected by one if the
-- double's division rounded across a whole number).
local Q = floor(P / C)
local R = P - Q * C
if R < 0 then
  Q, R = Q - 1, R + C
elseif R >= C then
  Q, R = Q + 1, R - C
end

local clock = redis.call('TIME') -- the server's clock, read once
local now_s, now_ns = tonumber(clock[1]), tonumber(clock[2]) * 1000

if op == 'Z' then
  -- The whole table's pause, on its own entry.
  local entry = redis.call('GET', key)
  local S, us, uns = 0, now_s, now_ns
  if entry then
    if #entry ~= 24 then
      return redis.error_reply('pacer: the key holds a string that is not a pacer pause')
    end
    S, us, uns = struct.unpack(TABLE, entry)
  end
  local u = (us - now_s) * NS + (uns - now_ns) -- its end, ns after now
  if u < 0 then
    u = 0
  end
  if X == -2 then
    return { 'ok', 0, now_s, now_ns + u, now_ns }
  end
  if not (X == -1 or (X >= 0 and X == floor(X))) or Y < 0 or Y ~= floor(Y) then
    return redis.error_reply('pacer: invalid pause end ' .. X .. ' ' .. Y)
  end
  local ends = Y
  if X >= 0 then
    ends = (X - now_s) * NS + (Y - now_ns)
  end
  if ends > MAX_PAUSE then
    return { 'long' }
  end
  if ends <= u then
    return { 'ok', 0, now_s, now_ns + u, now_ns } -- over already, or within the current pause
  end
  if S + (ends - u) > MAX_TABLE_SHIFT then
    return { 'long' }
  end
  S = S + (ends - u)
  local es = now_s + floor((now_ns + ends) / NS)
  local entry_ttl = ceil(ends / 1000000) + TABLE_KEPT
  redis.call('SET', key, struct.pack(TABLE, S, es, now_ns + ends - (es - now_s) * NS), 'PX', entry_ttl)
  return { 'ok', 1, now_s, now_ns + ends, now_ns }
end

local state, paused_table
if KEYS[2] then
  local both = redis.call('MGET', key, KEYS[2])
  state, paused_table = both[1], both[2]
else
  state = redis.call('GET', key)
end
-- The table's clock: S its shift, and lag the server's now minus max(now, U) (negative
-- while the table is paused). now_s, now_ns become the table's clock's reading.
local S, lag = 0, 0
if paused_table then
  if #paused_table ~= 24 then
    return redis.error_reply('pacer: the table\'s pause entry is not a pacer pause')
  end
  local us, uns
  S, us, uns = struct.unpack(TABLE, paused_table)
  local ahead = (us - now_s) * NS + (uns - now_ns)
  if ahead > 0 then
    lag = -ahead
    now_s, now_ns = us, uns
  end
  local whole = floor(S / NS)
  now_s, now_ns = now_s - whole, now_ns - (S - whole * NS)
  if now_ns < 0 then
    now_s, now_ns = now_s - 1, now_ns + NS
  end
end
local c, p, b, o, w, f, n, e, s, u, v
if state then
  local size = #state
  if size == 44 then
    c, p, b, o, w, f, n, e = struct.unpack(FORMAT, state)
    s, u, v = 0, FLOOR, 0
  elseif size == 68 then
    c, p, b, o, w, f, n, e, s, u, v = struct.unpack(TABLED, state)
  elseif size == 60 then
    c, p, b, o, w, f, n, e, s, u = struct.unpack(PAUSED, state)
    v = 0
  else
    return redis.error_reply('pacer: the key holds a string that is not a pacer limit')
  end
else
  -- No state (new, or expired while idle): a fresh limit, its TAT long past.
  c, p, b, o, w, f, n, e, s, u, v = C, P, B, now_s, FLOOR, 0, FLOOR, 0, 0, FLOOR, S
end
-- Written in another table shift: a later one (the table paused since) needs nothing, its
-- instants move with the table's clock; an earlier one means the table's entry was lost
-- (expired, or a failover), and the state's instants are kept where they were.
local refresh = false
if v ~= S then
  if v > S then
    local d = v - S
    w, n, u = w + d, n + d, u + d
  end
  v, refresh = S, true
end
-- The caller's quota is checked once per call: against the stored one (valid when it was
-- stored), or in full where it would be stored.
if not (c == C and p == P and b == B) or not state then
  if C < 1 or B < 1 or Q < 1 or P ~= floor(P) or B * P > 2 ^ 50 or B * C > 2 ^ 50 then
    return redis.error_reply('pacer: invalid quota ' .. C .. ' ' .. P .. ' ' .. B)
  end
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

-- The server's now and the shift of all pauses, as replies give them (ns after o).
local real, shifted = now + S + lag, s + S

if op == 't' or op == 'r' then
  if c ~= C or p ~= P or b ~= B then
    return { 'mismatch', string.format('%d:%d:%d', c, p, b) }
  end
  local k = X
  if k < 0 or k ~= floor(k) then
    return redis.error_reply('pacer: invalid cell count ' .. k)
  end
  local reply
  if k > b then
    reply = { 'heavy' }
  elseif k == 0 then
    if op == 't' then
      reply = 1
    else
      reply = struct.pack('<ddddddddd', o, real, real, e, shifted, w, f, w, f)
    end
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
    if Y >= 0 and at + s > now + lag + Y then
      return { 'wait', o, at + shifted, real } -- a refusal records nothing, not even its reading
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
    elseif op == 't' then
      reply = 1
    else
      reply = struct.pack('<ddddddddd', o, at + shifted, real, e, shifted, bw, bf, w, f)
    end
  end
  -- Written out here rather than by save(), so that the hot path makes no closure. The
  -- entry expires a second after the limit is idle by the server's clock (busy, in the
  -- table's clock, is that far from its now, and lag farther while the table is paused),
  -- and no sooner than 2 s after this call.
  local busy = w + s
  if u > busy then
    busy = u
  end
  local ttl = 1000
  busy = busy - now - lag
  if busy > 0 then
    ttl = ttl + ceil(busy / 1000000)
  end
  if ttl <= 2000 then
    ttl = '2000' -- at least 2 s, given as text: a number would cost the server a conversion
  end
  local packed
  if s == 0 and u <= now and v == 0 then
    packed = struct.pack(FORMAT, c, p, b, o, w, f, now, e)
  else
    packed = struct.pack(TABLED, c, p, b, o, w, f, now, e, s, u, v)
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
  busy = busy - now - lag
  if busy > 0 then
    ttl = ttl + ceil(busy / 1000000)
  end
  if ttl <= 2000 then
    ttl = '2000' -- at least 2 s, given as text: a number would cost the server a conversion
  end
  local packed
  if s == 0 and u <= now and v == 0 then
    packed = struct.pack(FORMAT, c, p, b, o, w, f, now, e)
  else
    packed = struct.pack(TABLED, c, p, b, o, w, f, now, e, s, u, v)
  end
  redis.call('SET', key, packed, 'PX', ttl)
end

if op == 'w' then
  if not state then
    return { 'ok', 0 } -- expired: idle, so every reservation of it has passed
  end
  local at = Y + (X - o) * NS
  if refresh then
    save() -- the table was paused since: the entry lives as long as its limit is busy
  end
  -- Passed: due before the latest pause began (limiter time u - s), or its moved instant
  -- has come, the table's clock running (while the table is paused, one due at the very
  -- instant its pause began waits it out).
  if at < u - s or now > at + s or (now == at + s and lag == 0) then
    return { 'ok', 0 }
  end
  return { 'ok', 1, o, at + shifted, real, shifted }
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
  local t_o, t_e, t_at = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
  local bw, bf = tonumber(ARGV[5]), tonumber(ARGV[6])
  local aw, af = tonumber(ARGV[7]), tonumber(ARGV[8])
  if not (t_o and t_e and t_at and bw and bf and aw and af) then
    return redis.error_reply('pacer: invalid cancel token')
  end
  local shift = (t_o - o) * NS
  local newest = t_e == e and c == C and p == P and b == B
    and math.abs(o - t_o) <= HORIZON / NS and aw + shift == w and af == f
  local due = t_at + shift + s
  local passed = t_at + shift < u - s or now > due or (now == due and lag == 0)
  if not newest or passed then
    save() -- the reading still counts as seen
    return { 'ok', 0 }
  end
  w, f = math.max(bw + shift, FLOOR), bf
  save()
  return { 'ok', 1 }
end

if op == 'z' then
  if not (X == -1 or (X >= 0 and X == floor(X))) or Y < 0 or Y ~= floor(Y) then
    return redis.error_reply('pacer: invalid pause end ' .. X .. ' ' .. Y)
  end
  -- The end on the table's clock (the server's, less the table's shift).
  local ends
  if X < 0 then
    ends = now + lag + Y
  else
    ends = (X - o) * NS + Y - S
  end
  if ends - (now + lag) > MAX_PAUSE then
    return { 'long' }
  end
  local from = math.max(now, u)
  if ends <= from then
    -- Over already, or within the pause in force (the key's own or the table's).
    return { 'ok', 0, o, from + S, real }
  end
  if s + (ends - from) > MAX_PAUSE then
    return { 'long' }
  end
  -- Limiter time stops until `ends`: every instant not yet passed moves later by as much.
  s, u = s + (ends - from), ends
  save()
  return { 'ok', 1, o, u + S, real }
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
  return { 'ok', o, left, earliest(1) + shifted, real }
end

if op == 'l' then
  local k = X
  if k < 0 or k ~= floor(k) then
    return redis.error_reply('pacer: invalid cell count ' .. k)
  end
  if k > b then
    return { 'heavy' }
  end
  if k == 0 then
    return { 'ok', o, real, real }
  end
  local at = earliest(k)
  -- The TAT the reservation would leave must stay within the horizon.
  local aw = math.max(w, at - 1) + times(c, Q, R, k)
  if aw > HORIZON then
    return { 'horizon' }
  end
  return { 'ok', o, at + shifted, real }
end

return redis.error_reply('pacer: unknown operation ' .. tostring(op))
