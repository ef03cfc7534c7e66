// The page's state and how it is loaded: the chain (through /rpc) is the source of truth for campaigns,
// rounds, phases and positions; the coordinator adds training progress and the audit. Views subscribe and
// get `update(state)` after every refresh; the store never touches the DOM (no import of views or widgets).
import { ZeroAddress, ZeroHash } from "ethers";
import { PHASE_DEADLINES, PHASES, ROLES } from "./generated/protocol.js";
import { api, same } from "./util.js";

export const state = {
  info: null,
  chain: null,
  tab: "owners",
  block: 0,
  chainNow: 0, // latest block's timestamp
  chainNowAt: 0, // Date.now() when it was read
  campaigns: [],
  rounds: [],
  rid: null,
  round: null,
  mine: null,
  balance: 0n,
  credit: 0n,
  training: null,
  logs: [], // every parsed event of the contract: {name, args, block, logIndex, tx}
  logsTo: -1,
  coordError: null,
  chainError: null,
  loadedAt: 0,
};

export const PHASE = Object.fromEntries(PHASES.map((p) => [p.name, p.id]));
export const ROLE = Object.fromEntries(ROLES.map((r) => [r.name, r.id]));
export const phaseName = (id) => (PHASES[Number(id)] ? PHASES[Number(id)].name : String(id));

const listeners = [];
export function subscribe(fn) {
  listeners.push(fn);
}

export function me() {
  return state.chain && state.chain.address;
}

/** Chain time now, extrapolated from the latest block's timestamp by the wall clock since it was read. */
export function chainTime() {
  if (!state.chainNow) return 0;
  return state.chainNow + Math.floor((Date.now() - state.chainNowAt) / 1000);
}

/** Seconds the chain's clock is ahead of (+) or behind (−) the wall clock. */
export function clockSkew() {
  return state.chainNow ? state.chainNow - Math.floor(state.chainNowAt / 1000) : 0;
}

export function selectRound(rid) {
  state.rid = rid;
  localStorage.setItem("hcfl:rid", String(rid));
}

function plain(v) {
  if (typeof v === "bigint") return v;
  if (v && typeof v.toArray === "function") {
    // an ethers Result: an object when every member is named (a struct), else an array
    let obj = null;
    try {
      obj = v.toObject();
    } catch {
      obj = null;
    }
    const keys = obj ? Object.keys(obj) : [];
    if (obj && keys.length === v.length && keys.length && keys.every((k) => !/^_?\d*$/.test(k))) {
      const o = {};
      for (const k of keys) o[k] = plain(v[k]);
      return o;
    }
    return [...v].map(plain);
  }
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

async function loadLogs() {
  const c = state.chain;
  // a raw request: ethers answers getBlockNumber from a cache, so a refresh right after a receipt missed its events
  const head = Number(BigInt(await c.read.send("eth_blockNumber", [])));
  if (head < state.logsTo) {
    state.logs = []; // the chain went back (a revert of a dev chain): read again
    state.logsTo = -1;
  }
  if (head > state.logsTo) {
    const raw = await c.read.getLogs({ address: c.info.contract, fromBlock: state.logsTo + 1, toBlock: head });
    for (const log of raw) {
      try {
        const ev = c.iface.parseLog(log);
        if (ev) state.logs.push({ name: ev.name, args: plain(ev.args), block: log.blockNumber, logIndex: log.index, tx: log.transactionHash });
      } catch {
        /* not this contract's event */
      }
    }
    state.logsTo = head;
  }
  const block = await c.read.getBlock(head);
  state.block = head;
  state.chainNow = Number(block.timestamp);
  state.chainNowAt = Date.now();
}

/** When the current phase ends (inclusive, chain time), or null (waits for a transaction, or finished): the
 * table PHASE_DEADLINES, generated from hcfl/protocol/deadlines.py (the coordinator's phase_end reads the same). */
export function phaseEnd(data, cfg, phase) {
  const rule = PHASE_DEADLINES[Number(phase)];
  if (!rule) return null;
  const field = (name) => {
    // trainEnd is stored at settlement (older layouts kept settledAt instead)
    if (name === "trainEnd" && data.trainEnd === undefined) return Number(data.settledAt) + Number(cfg.trainDuration);
    return Number(data[name] || 0);
  };
  const start = rule.starts.map(field).find((v) => v) || 0;
  if (!start) return null;
  return rule.add.reduce((end, name) => end + Number(cfg[name]), start);
}

function roundEvents(rid) {
  return state.logs.filter((e) => e.args && e.args.roundId !== undefined && BigInt(e.args.roundId) === BigInt(rid));
}

/** Participants and proposals of a round from its events (no per-participant loop on chain). */
function fromEvents(rid, data) {
  const evs = roundEvents(rid);
  const people = new Map();
  const get = (a) => people.get(a.toLowerCase());
  const proposals = [];
  for (const e of evs) {
    const a = e.args;
    if (e.name === "Joined") people.set(a.account.toLowerCase(), { address: a.account, role: Number(a.role), deposit: a.deposit, committed: false, revealed: false, claims: [], reported: 0, reports: [] });
    else if (e.name === "ClaimsCommitted" && get(a.account)) get(a.account).committed = true;
    else if (e.name === "ClaimsRevealed" && get(a.account)) Object.assign(get(a.account), { revealed: true, claims: a.cappedClaims, weight: a.weight });
    else if (e.name === "TrainingReported" && get(a.station)) { get(a.station).reported += 1; get(a.station).reports.push(e); }
    else if (e.name === "ParticipantSettled" && get(a.account)) get(a.account).settlement = a;
    else if (e.name === "StationRewarded" && get(a.station)) get(a.station).reward = a;
    else if (e.name === "InclusionProven" && get(a.station)) get(a.station).included = Number(a.includedRounds);
    else if (e.name === "InclusionContested" && get(a.station)) get(a.station).contested = true;
    else if (e.name === "Proposed") proposals.push({ index: Number(a.proposalId), proposer: a.proposer, specHash: a.specHash, uri: a.uri, archId: Number(a.archId), promisedAccBps: Number(a.promisedAccBps), globalRounds: Number(a.globalRounds), labelMask: a.labelMask, bond: a.bond, price: a.price });
  }
  proposals.sort((x, y) => x.index - y.index);
  for (const p of proposals) {
    const s = data.sums[p.index];
    p.sumB = s.sumB;
    p.sumK = s.sumK;
    p.surplus = BigInt(s.sumB) - BigInt(s.sumK);
  }
  return { events: evs, people: [...people.values()], proposals };
}

async function loadRound(rid) {
  const c = state.chain.contract;
  const [rawData, phase] = await Promise.all([c.getRound(rid), c.state(rid)]);
  const data = plain(rawData);
  const campaign = state.campaigns.find((x) => x.id === Number(data.campaignId));
  const ev = fromEvents(rid, data);
  const winner = data.selected && ev.proposals[Number(data.star)] ? ev.proposals[Number(data.star)] : null;
  const round = { id: rid, data, phase: Number(phase), campaign, cfg: campaign && campaign.cfg, ...ev, winner };
  round.phaseEnd = campaign ? phaseEnd(data, campaign.cfg, round.phase) : null;
  // rewards only for included work: the inclusion root the winner recorded (zero: none; then stations are paid
  // by their reported rounds)
  round.inclusionRoot = data.selected ? String((await c.inclusionOf(rid, ZeroAddress))[0]) : ZeroHash;
  return round;
}

async function loadMine(round) {
  const a = me();
  if (!a) return null;
  const c = state.chain.contract;
  const p = plain(await c.getParticipant(round.id, a));
  const out = { participant: p, role: Number(p.role), settlement: null, voteWeight: 0n, vote: null };
  if (out.role !== 0 && (round.data.settled || Number(round.data.k) === 0)) {
    try {
      out.settlement = plain(await c.previewSettlement(round.id, a));
    } catch {
      out.settlement = null;
    }
  }
  if (round.data.settled && round.data.selected) {
    [out.voteWeight, out.vote] = await Promise.all([c.voteWeight(round.id, a).catch(() => 0n), c.getVote(round.id, a).then(plain).catch(() => null)]);
  }
  if (round.data.selected && out.role === ROLE.Station) {
    const [root, proven, includedRounds, contested] = await c.inclusionOf(round.id, a);
    out.inclusion = { root: String(root), proven: !!proven, includedRounds: Number(includedRounds), contested: !!contested };
  }
  out.proposals = round.proposals.filter((x) => same(x.proposer, a));
  out.isWinner = !!round.winner && same(round.winner.proposer, a);
  out.isCreator = round.campaign && same(round.campaign.creator, a);
  return out;
}

async function loadTraining(round) {
  if (!round || !round.data.settled || !round.data.selected) return null;
  try {
    const t = await api(`/api/rounds/${round.id}/training`);
    state.coordError = null;
    return t;
  } catch (err) {
    state.coordError = err;
    return state.training && state.training.round === round.id ? state.training : null;
  }
}

let running = null;

/** Loads everything once (concurrent callers share the same load), then tells every subscriber. */
export function refresh() {
  if (running) return running;
  running = (async () => {
    try {
      await loadLogs();
      const c = state.chain.contract;
      const [nCampaigns, nRounds] = (await c.counts()).map(Number);
      const campaigns = [];
      for (let i = 0; i < nCampaigns; i++) {
        const x = plain(await c.getCampaign(i));
        campaigns.push({ id: i, creator: x.creator, roundCount: Number(x.roundCount), ownerPool: x.ownerPool, stationPool: x.stationPool, cfg: x.cfg });
      }
      state.campaigns = campaigns;
      const rounds = [];
      for (let i = 0; i < nRounds; i++) {
        const opened = state.logs.find((e) => e.name === "RoundOpened" && Number(e.args.roundId) === i);
        rounds.push({ id: i, campaignId: opened ? Number(opened.args.campaignId) : null, phase: Number(await c.state(i)) });
      }
      state.rounds = rounds;
      if (state.rid === null || !rounds.some((r) => r.id === state.rid)) {
        const saved = Number(localStorage.getItem("hcfl:rid"));
        state.rid = rounds.some((r) => r.id === saved) && localStorage.getItem("hcfl:rid") !== null ? saved : rounds.length ? rounds[rounds.length - 1].id : null;
      }
      state.round = state.rid === null ? null : await loadRound(state.rid);
      if (state.round) {
        const listed = rounds.find((x) => x.id === state.round.id);
        if (listed && listed.campaignId === null) listed.campaignId = Number(state.round.data.campaignId);
      }
      state.mine = state.round ? await loadMine(state.round) : null;
      if (me()) [state.balance, state.credit] = await Promise.all([state.chain.read.getBalance(me()), c.credits(me())]);
      state.training = await loadTraining(state.round);
      state.chainError = null;
      state.loadedAt = Date.now();
    } catch (err) {
      console.error(err);
      state.chainError = err;
    }
    for (const fn of listeners) {
      try {
        fn(state);
      } catch (err) {
        console.error(err);
      }
    }
  })().finally(() => {
    running = null;
  });
  return running;
}

/** A load that starts after now (waits for one in flight, which may have read the chain too early). */
export async function refreshAfter() {
  if (running) await running;
  return refresh();
}
