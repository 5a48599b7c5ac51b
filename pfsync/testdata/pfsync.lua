-- A tshark dissector for OpenBSD pfsync protocol version 6 (IP protocol
-- 240), written for tests from /work/shared/reference/pfsync.md §1 only,
-- not from the Go codec, so the two can catch each other's mistakes.
-- Wireshark has no pfsync dissector of its own (reference §4).
--
--   tshark -X lua_script:pfsync.lua -r frame.pcap -V
--   tshark -X lua_script:pfsync.lua -r frame.pcap -T fields -e pfsync6.id

local p = Proto("pfsync6", "OpenBSD pfsync v6")
local f = p.fields

local actions = {
  [0] = "CLR", [1] = "OINS", [2] = "INS_ACK", [3] = "OUPD", [4] = "UPD_C",
  [5] = "UPD_REQ", [6] = "DEL", [7] = "DEL_C", [8] = "INS_F", [9] = "DEL_F",
  [10] = "BUS", [11] = "OTDB", [12] = "EOF", [13] = "INS", [14] = "UPD",
  [15] = "TDB", [240] = "LINUX_EXT",
}
local afs = { [0] = "unspec", [2] = "inet", [24] = "inet6" }
local dirs = { [1] = "in", [2] = "out" }
local bus = { [1] = "start", [2] = "end" }

f.version   = ProtoField.uint8("pfsync6.version", "Version")
f.len       = ProtoField.uint16("pfsync6.len", "Length")
f.cksum     = ProtoField.bytes("pfsync6.pfcksum", "pfcksum")
f.action    = ProtoField.uint8("pfsync6.action", "Action", base.DEC, actions)
f.rlen      = ProtoField.uint8("pfsync6.reclen", "Record length (words)")
f.count     = ProtoField.uint16("pfsync6.count", "Count")
f.id        = ProtoField.uint64("pfsync6.id", "ID", base.HEX)
f.creatorid = ProtoField.uint32("pfsync6.creatorid", "Creator ID", base.HEX)
f.ifname    = ProtoField.string("pfsync6.ifname", "Interface")
f.addr4     = ProtoField.ipv4("pfsync6.addr4", "Address")
f.addr6     = ProtoField.ipv6("pfsync6.addr6", "Address")
f.port      = ProtoField.uint16("pfsync6.port", "Port")
f.rdomain   = ProtoField.uint16("pfsync6.rdomain", "Rdomain")
f.kaf       = ProtoField.uint8("pfsync6.key.af", "Key AF", base.DEC, afs)
f.pfss_flags= ProtoField.uint16("pfsync6.scrub.flags", "pfss_flags", base.HEX)
f.pfss_ttl  = ProtoField.uint8("pfsync6.scrub.ttl", "pfss_ttl")
f.scrub_flag= ProtoField.uint8("pfsync6.scrub.flag", "scrub_flag")
f.ts_mod    = ProtoField.uint32("pfsync6.scrub.ts_mod", "pfss_ts_mod", base.HEX)
f.seqlo     = ProtoField.uint32("pfsync6.seqlo", "seqlo", base.HEX)
f.seqhi     = ProtoField.uint32("pfsync6.seqhi", "seqhi", base.HEX)
f.seqdiff   = ProtoField.uint32("pfsync6.seqdiff", "seqdiff", base.HEX)
f.max_win   = ProtoField.uint16("pfsync6.max_win", "max_win")
f.mss       = ProtoField.uint16("pfsync6.mss", "mss")
f.pstate    = ProtoField.uint8("pfsync6.peer.state", "state")
f.wscale    = ProtoField.uint8("pfsync6.wscale", "wscale", base.HEX)
f.rule      = ProtoField.uint32("pfsync6.rule", "rule", base.HEX)
f.anchor    = ProtoField.uint32("pfsync6.anchor", "anchor", base.HEX)
f.nat_rule  = ProtoField.uint32("pfsync6.nat_rule", "nat_rule", base.HEX)
f.creation  = ProtoField.uint32("pfsync6.creation", "creation (age, s)")
f.expire    = ProtoField.uint32("pfsync6.expire", "expire (s)")
f.packets   = ProtoField.uint64("pfsync6.packets", "packets")
f.bytes     = ProtoField.uint64("pfsync6.bytes", "bytes")
f.rtableid  = ProtoField.int32("pfsync6.rtableid", "rtableid")
f.max_mss   = ProtoField.uint16("pfsync6.max_mss", "max_mss")
f.af        = ProtoField.uint8("pfsync6.af", "AF", base.DEC, afs)
f.proto     = ProtoField.uint8("pfsync6.proto", "proto")
f.direction = ProtoField.uint8("pfsync6.direction", "direction", base.DEC, dirs)
f.log       = ProtoField.uint8("pfsync6.log", "log")
f.rt        = ProtoField.uint8("pfsync6.rt", "rt")
f.timeout   = ProtoField.uint8("pfsync6.timeout", "timeout")
f.sync_flags= ProtoField.uint8("pfsync6.sync_flags", "sync_flags", base.HEX)
f.updates   = ProtoField.uint8("pfsync6.updates", "updates")
f.min_ttl   = ProtoField.uint8("pfsync6.min_ttl", "min_ttl")
f.set_tos   = ProtoField.uint8("pfsync6.set_tos", "set_tos", base.HEX)
f.state_flags = ProtoField.uint16("pfsync6.state_flags", "state_flags", base.HEX)
f.set_prio  = ProtoField.uint8("pfsync6.set_prio", "set_prio")
f.endtime   = ProtoField.uint32("pfsync6.endtime", "endtime")
f.bus_status= ProtoField.uint8("pfsync6.bus.status", "status", base.DEC, bus)
f.spi       = ProtoField.uint32("pfsync6.spi", "spi", base.HEX)
f.rpl       = ProtoField.uint64("pfsync6.rpl", "rpl")
f.cur_bytes = ProtoField.uint64("pfsync6.cur_bytes", "cur_bytes")
f.sproto    = ProtoField.uint8("pfsync6.sproto", "sproto")
f.mark      = ProtoField.uint32("pfsync6.mark", "mark", base.HEX)
f.zone      = ProtoField.uint16("pfsync6.zone", "zone")
f.has       = ProtoField.uint16("pfsync6.has", "has", base.HEX)
f.labels    = ProtoField.bytes("pfsync6.labels", "labels")
f.raw       = ProtoField.bytes("pfsync6.raw", "Skipped record")

-- pfsync_state_peer, 32 bytes with pfsync_state_scrub in front.
local function peer(t, buf, name)
  local s = t:add(p, buf(0, 32), name)
  s:add(f.pfss_flags, buf(0, 2))
  s:add(f.pfss_ttl, buf(2, 1))
  s:add(f.scrub_flag, buf(3, 1))
  s:add(f.ts_mod, buf(4, 4))
  s:add(f.seqlo, buf(8, 4))
  s:add(f.seqhi, buf(12, 4))
  s:add(f.seqdiff, buf(16, 4))
  s:add(f.max_win, buf(20, 2))
  s:add(f.mss, buf(22, 2))
  s:add(f.pstate, buf(24, 1))
  s:add(f.wscale, buf(25, 1))
end

local function addr(t, buf, af)
  if af == 24 then t:add(f.addr6, buf(0, 16)) else t:add(f.addr4, buf(0, 4)) end
end

-- pfsync_state_key, 40 bytes; af 0 means the state's af.
local function key(t, buf, name, saf)
  local s = t:add(p, buf(0, 40), name)
  local af = buf(38, 1):uint()
  if af == 0 then af = saf end
  addr(s, buf(0, 16), af)
  addr(s, buf(16, 16), af)
  s:add(f.port, buf(32, 2))
  s:add(f.port, buf(34, 2))
  s:add(f.rdomain, buf(36, 2))
  s:add(f.kaf, buf(38, 1))
end

-- pfsync_state, 264 bytes.
local function state(t, buf)
  local saf = buf(250, 1):uint()
  t:add(f.id, buf(0, 8))
  t:add(f.ifname, buf(8, 16), buf(8, 16):stringz())
  key(t, buf(24, 40), "key[PF_SK_WIRE]", saf)
  key(t, buf(64, 40), "key[PF_SK_STACK]", saf)
  peer(t, buf(104, 32), "src")
  peer(t, buf(136, 32), "dst")
  local r = t:add(p, buf(168, 16), "rt_addr")
  addr(r, buf(168, 16), saf)
  t:add(f.rule, buf(184, 4))
  t:add(f.anchor, buf(188, 4))
  t:add(f.nat_rule, buf(192, 4))
  t:add(f.creation, buf(196, 4))
  t:add(f.expire, buf(200, 4))
  t:add(f.packets, buf(204, 8))
  t:add(f.packets, buf(212, 8))
  t:add(f.bytes, buf(220, 8))
  t:add(f.bytes, buf(228, 8))
  t:add(f.creatorid, buf(236, 4))
  t:add(f.rtableid, buf(240, 4))
  t:add(f.rtableid, buf(244, 4))
  t:add(f.max_mss, buf(248, 2))
  t:add(f.af, buf(250, 1))
  t:add(f.proto, buf(251, 1))
  t:add(f.direction, buf(252, 1))
  t:add(f.log, buf(253, 1))
  t:add(f.rt, buf(254, 1))
  t:add(f.timeout, buf(255, 1))
  t:add(f.sync_flags, buf(256, 1))
  t:add(f.updates, buf(257, 1))
  t:add(f.min_ttl, buf(258, 1))
  t:add(f.set_tos, buf(259, 1))
  t:add(f.state_flags, buf(260, 2))
  t:add(f.set_prio, buf(262, 1))
  t:add(f.set_prio, buf(263, 1))
end

local function ref(t, buf)
  t:add(f.id, buf(0, 8))
  t:add(f.creatorid, buf(8, 4))
end

local records = {
  [0] = { 20, function(t, buf)
    t:add(f.ifname, buf(0, 16), buf(0, 16):stringz())
    t:add(f.creatorid, buf(16, 4))
  end },
  [2] = { 12, ref },
  [4] = { 84, function(t, buf)
    t:add(f.id, buf(0, 8))
    peer(t, buf(8, 32), "src")
    peer(t, buf(40, 32), "dst")
    t:add(f.creatorid, buf(72, 4))
    t:add(f.expire, buf(76, 4))
    t:add(f.timeout, buf(80, 1))
    t:add(f.state_flags, buf(81, 1))
  end },
  [5] = { 12, ref },
  [6] = { 264, state },
  [7] = { 12, ref },
  [10] = { 12, function(t, buf)
    t:add(f.creatorid, buf(0, 4))
    t:add(f.endtime, buf(4, 4))
    t:add(f.bus_status, buf(8, 1))
  end },
  [13] = { 264, state },
  [14] = { 264, state },
  [15] = { 52, function(t, buf)
    t:add(f.spi, buf(0, 4))
    local fam = buf(5, 1):uint()
    if fam == 24 then t:add(f.addr6, buf(12, 16)) else t:add(f.addr4, buf(8, 4)) end
    t:add(f.rpl, buf(32, 8))
    t:add(f.cur_bytes, buf(40, 8))
    t:add(f.sproto, buf(48, 1))
    t:add(f.updates, buf(49, 1))
    t:add(f.rdomain, buf(50, 2))
  end },
  [240] = { 36, function(t, buf)
    ref(t, buf)
    t:add(f.has, buf(12, 2))
    t:add(f.zone, buf(14, 2))
    t:add(f.mark, buf(16, 4))
    t:add(f.labels, buf(20, 16))
  end },
}

function p.dissector(buf, pinfo, tree)
  pinfo.cols.protocol = "PFSYNC"
  local t = tree:add(p, buf(), "pfsync v6")
  t:add(f.version, buf(0, 1))
  t:add(f.len, buf(2, 2))
  t:add(f.cksum, buf(4, 16))
  local len = buf(2, 2):uint()
  local off = 20
  local names = {}
  while off + 4 <= len do
    local a, w, n = buf(off, 1):uint(), buf(off + 1, 1):uint(), buf(off + 2, 2):uint()
    local mlen = w * 4
    local s = t:add(p, buf(off, 4 + mlen * n), "Section " .. (actions[a] or tostring(a)))
    s:add(f.action, buf(off, 1))
    s:add(f.rlen, buf(off + 1, 1))
    s:add(f.count, buf(off + 2, 2))
    names[#names + 1] = (actions[a] or tostring(a)) .. "×" .. n
    off = off + 4
    local rec = records[a]
    for i = 0, n - 1 do
      if mlen > 0 then
        local r = s:add(p, buf(off, mlen), "Record " .. i)
        if rec and mlen >= rec[1] then rec[2](r, buf(off, mlen)) else r:add(f.raw, buf(off, mlen)) end
      end
      off = off + mlen
    end
  end
  pinfo.cols.info = table.concat(names, " ")
end

DissectorTable.get("ip.proto"):add(240, p)
