#!/usr/bin/env python3
"""indgen: an independent synthetic-data generator for groupwatch.

It was written from the data contract (shared/spec/data-contract.md) and the behaviour spec
(shared/spec/detection.md) only, with mechanics of its own. Its job is to give the detector
data that the project's own generator did not make.

The world
---------
A messaging platform seen through metadata only, over a window of `--days` days that ends with
the as-of date (inclusive). Membership history goes back to each group's creation, years before
the window; forwards, reports and blocks are only logged inside the window.

* Accounts are registered over about eight years, recent ones more common. They sit on a
  "social ring": an account's neighbours on the ring are its friends, so groups drawn from a
  stretch of the ring share members (overlapping communities). Activity is heavy-tailed.
* Ordinary groups (family, friends, work, hobby, neighbourhood, community) have a heavy-tailed
  size (median about 8, tail to the 1024 cap). Each has a creator, sometimes a co-admin,
  members added by admins or joining by invite link (some with admin approval), churn
  (leaves, removals) and occasional later promotions/demotions.
* Organisations (school, club, company): 3-15 related groups sharing 2-5 admins who create the
  groups and their invite links, with members drawn from one pool, so they overlap strongly.
  Structurally they look like networks.
* Loud benign decoys, each sharing one trait with abuse:
  - events: one organiser, 1-5 groups filled in bursts through a few links within days, many
    members are fresh accounts without photos, photos forwarded among the event's groups;
  - broadcasters: one account forwarding frequently-forwarded images/videos to its large groups;
  - spammers: fresh accounts adding strangers en masse, forwarding links to strangers in
    batches of 5, collecting spam reports and unknown-contact blocks;
  - marketplaces: clusters of 2-4 groups with high churn where sellers post product images.
  Some decoy groups receive a few (false) child-safety reports.
* Planted violating networks (about 0.4 % of groups; 3-25 groups each) with operators,
  distributors and consumers. Groups are created by different operators/distributors with
  sparse admin overlap. Consumers join several of the network's groups; distributors join most
  of them and forward image/video objects between them. A per-network strength in (0, 1]
  scales every loud behaviour: invite-link joins, link rotation, bursts after each new link,
  throwaway accounts without photos, batch-cap forwards, child-safety reports, unknown-contact
  blocks, slightly tilted text, near copies of hash-bank photos. Camouflaged networks (most
  under preset camouflaged, about a third under mixed, none under loud) show none of the loud traits: old
  members with photos whose ordinary groups are their own ring communities, benign-looking
  text, benign-like join methods; only shared members and media moving among their groups
  give them away.
* Reports and blocks at low background rates (spam, harassment, scam, other, a few false
  child-safety reports), plus the decoy and network ones above.
* Labels: about half the networks are revealed (a share of their groups and some core accounts
  get violating labels, from enforcement or review); the others have no label at all. Benign
  labels come from dismissed reviews of decoys and random entities, and a few upheld appeals
  (violating, later superseded by benign).

Output: DIR/input/<table>/ in the contract layout, DIR/truth/{groups,accounts,networks}.parquet
and DIR/indgen.json. The same seed and arguments give byte-identical files.

Usage
-----
  python3 scripts/indgen.py --out DIR --accounts N --seed S [--preset loud|mixed|camouflaged]
                            [--as-of 2026-11-24] [--days 60]
  python3 scripts/indgen.py --check DIR
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SEC = 1_000
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR
NEVER = np.int64(2**62)  # "no such time" (no leave, link never revoked)
CAP = 1024  # platform group-size cap

KINDS = ["family", "friends", "work", "hobby", "neighbourhood", "community", "school", "club",
         "company", "event", "broadcast", "spam", "marketplace", "planted"]
K = {k: i for i, k in enumerate(KINDS)}
ROLES = ["operator", "distributor", "consumer"]
MEDIA = ["text", "image", "video", "audio", "document", "sticker", "link"]
M = {m: i for i, m in enumerate(MEDIA)}
EVENTS = ["join", "leave", "removed", "promote", "demote"]
METHODS = ["creator", "added", "invite_link", "approval"]
REASONS = ["child_safety", "spam", "scam", "harassment", "other"]
R_ = {r: i for i, r in enumerate(REASONS)}
COUNTRIES = ["DE", "FR", "GB", "ES", "IT", "NL", "PL", "BR", "MX", "AR", "IN", "ID", "NG", "KE",
             "ZA", "EG", "TR", "US", "CA", "PH"]
COUNTRY_W = np.array([6, 5, 5, 5, 5, 3, 3, 9, 6, 3, 12, 8, 5, 3, 3, 4, 4, 6, 3, 6], float)

# Neutral placeholder vocabulary; no real words about abuse anywhere.
WORDS = ["alpha", "beta", "gamma", "delta", "garden", "match", "river", "sun", "blue", "team",
         "club", "home", "news", "music", "photo", "party", "trip", "work", "study", "cook",
         "game", "books", "friends", "city", "north", "south", "park", "school", "class",
         "market", "deal", "shop", "event", "night", "weekend", "coffee", "run", "bike", "yoga",
         "film", "art", "tech", "code", "pets", "chat", "group", "daily", "share", "free", "win",
         "office", "league", "choir", "hiking", "travel", "green", "red", "star", "moon", "lake"]
VOCAB = WORDS + [f"tok{i}" for i in range(200)]
V = len(VOCAB)
W_ = {w: i for i, w in enumerate(VOCAB)}
TILT = ["tok3", "tok17", "tok42", "tok88", "tok123", "tok150", "tok171", "garden", "river",
        "alpha", "match", "star", "share", "moon", "daily"]
STYLE_BOOST = {  # text styles: 0 benign, 1 tilted (violating), 2 spam, 3 org, 4 market, 5 event
    1: (TILT, 25.0),
    2: (["deal", "free", "win", "shop", "tok7", "tok9", "news"], 30.0),
    3: (["school", "class", "club", "team", "league", "office", "choir"], 15.0),
    4: (["market", "shop", "deal", "photo", "tok21"], 25.0),
    5: (["event", "party", "night", "weekend", "trip", "photo", "music"], 25.0),
}

T_MS = pa.timestamp("ms", tz="UTC")
T_US = pa.timestamp("us", tz="UTC")
U64 = pa.uint64()
PDQ = pa.binary(32)


# ----------------------------------------------------------------------------- helpers

def splitmix64(x: np.ndarray) -> np.ndarray:
    """Bijective 64-bit mixer (SplitMix64 finaliser) on uint64 arrays."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def seg_arange(counts: np.ndarray) -> np.ndarray:
    """[0..c0) ++ [0..c1) ++ ... for a vector of counts."""
    counts = np.asarray(counts, np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)


def i64(x) -> np.ndarray:
    return np.asarray(x).astype(np.int64)


def day_str(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%d")


# ----------------------------------------------------------------------------- the world

class World:
    def __init__(self, a: argparse.Namespace):
        self.a = a
        self.rng = np.random.Generator(np.random.PCG64(a.seed))
        self.N = int(a.accounts)
        asof = dt.datetime.strptime(a.as_of, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
        self.end = int((asof + dt.timedelta(days=1)).timestamp() * 1000)  # exclusive
        self.win = self.end - a.days * DAY
        self.camo_frac = {"loud": 0.0, "mixed": 1 / 3, "camouflaged": 0.8}[a.preset]
        self.gchunks: list[dict] = []
        self.schunks: list[dict] = []
        self.nG = 0
        self.fchunks: list[dict] = []
        self.n_actions = 0
        self.n_objects = 0
        self.rchunks: list[dict] = []
        self.bchunks: list[dict] = []
        self.decoy_core: list[np.ndarray] = []

    def salt(self, name: str) -> np.uint64:
        h = hashlib.sha256(f"indgen:{self.a.seed}:{name}".encode()).digest()
        return np.uint64(int.from_bytes(h[:8], "little"))

    def ids(self, idx: np.ndarray, name: str) -> np.ndarray:
        return splitmix64(np.asarray(idx).astype(np.uint64) ^ self.salt(name))

    # ------------------------------------------------------------------ plan and accounts

    def plan_networks(self):
        """Decide the planted networks' sizes, roles, strength and camouflage up front."""
        rng = self.rng
        exp_groups = self.N * 0.21  # ordinary + organisation + decoy groups, measured
        target = 0.004 * exp_groups
        min_nets = int(np.clip(round(8 * self.N / 100_000), 2, 8))
        sizes: list[int] = []
        while sum(sizes) < target or len(sizes) < min_nets:
            sizes.append(int(np.clip(round(np.exp(rng.uniform(np.log(3), np.log(25.5)))), 3, 25)))
        k = len(sizes)
        camo = np.zeros(k, bool)
        camo[rng.permutation(k)[: int(round(k * self.camo_frac))]] = True
        strength = np.clip(rng.beta(1.1, 1.6, k), 0.02, 1.0)
        revealed = np.zeros(k, bool)
        revealed[rng.permutation(k)[: (k + 1) // 2]] = True
        nets = []
        for i in range(k):
            n_g, s = sizes[i], float(strength[i])
            n_op = 1 + int(rng.binomial(2, 0.5))
            n_di = max(2, int(round(n_g * rng.uniform(0.3, 0.6))))
            n_co = int(round(n_g * rng.uniform(4, 14))) + 5
            roles = np.r_[np.zeros(n_op, int), np.ones(n_di, int), np.full(n_co, 2)]
            if camo[i]:
                throw = np.zeros(len(roles), bool)
            else:
                p = np.where(roles == 2, 0.15 + 0.6 * s, np.where(roles == 1, 0.35 * s, 0.0))
                throw = rng.random(len(roles)) < p
            start = self.end - int(rng.uniform(6, 240) * DAY)
            span = min(self.end - 2 * DAY - start, int(rng.uniform(15, 150) * DAY))
            nets.append(dict(n_groups=n_g, strength=s, camo=bool(camo[i]), revealed=bool(revealed[i]),
                             roles=roles, throw=throw, start=start, span=span))
        self.nets = nets
        self.n_throw = int(sum(n["throw"].sum() for n in nets))
        self.R = self.N - self.n_throw  # accounts on the social ring
        if self.R < self.N * 0.8 or self.R < 500:
            raise SystemExit("too few accounts for the planted networks; use --accounts >= 2000")

    def make_accounts(self):
        rng, N, R = self.rng, self.N, self.R
        scale, top = 700.0, 8 * 365.0
        u = rng.random(N)
        age = -scale * np.log1p(-u * (1 - np.exp(-top / scale)))  # truncated exponential, days
        self.acc_created = self.end - i64(age * DAY) - rng.integers(MIN, 2 * HOUR, N)
        self.throw = np.zeros(N, bool)
        self.throw[R:] = True
        self.acc_created[R:] = 0  # set from their first join later
        self.activity = rng.lognormal(0.0, 1.0, R)
        self.cum_act = np.cumsum(self.activity)
        self.used = np.zeros(N, bool)  # reserved for planted / decoy roles
        self.force_photo = np.zeros(N, bool)
        self.photo_p = np.full(N, np.nan)  # per-account override of the photo probability
        self.throw_fix = self.throw.copy()  # throwaways registered just before their first join
        self.extra_links: list[tuple[np.ndarray, np.ndarray]] = []  # (group, time) link resets
        self.business_p = np.full(N, 0.03)

    def pick_active(self, n: int) -> np.ndarray:
        u = self.rng.random(n) * self.cum_act[-1]
        return np.minimum(np.searchsorted(self.cum_act, u, side="right"), self.R - 1).astype(np.int64)

    def near(self, centre: np.ndarray, w: np.ndarray) -> np.ndarray:
        w = np.maximum(i64(w), 1)
        return (centre + self.rng.integers(-w, w + 1)) % self.R

    def draw_free(self, n: int, ok: np.ndarray | None = None) -> np.ndarray:
        """n distinct ring accounts not used by any planted/decoy role (then marked used)."""
        out = np.empty(0, np.int64)
        for _ in range(2000):
            need = n - len(out)
            if need <= 0:
                return out
            c = self.rng.integers(0, self.R, 4 * need + 16)
            good = ~self.used[c]
            if ok is not None:
                good &= ok[c]
            c = c[good]
            _, first = np.unique(c, return_index=True)
            c = c[np.sort(first)][:need]
            self.used[c] = True
            out = np.concatenate([out, c])
        raise SystemExit("could not draw enough free accounts")

    # ------------------------------------------------------------------ group/slot registry

    def add_groups(self, creator, created, kind, **kw) -> np.ndarray:
        n = len(creator)
        d = dict(creator=i64(creator), created=i64(created), kind=np.broadcast_to(i64(kind), n).copy())
        defaults = dict(net=-1, camo=False, p_link=0.3, approval=False, aoa=False, reset_days=400.0,
                        burst_p=0.0, early_p=0.5, early_scale=3.0 * DAY, join_end=self.end - MIN,
                        leave_p=0.12, remove_frac=0.12, leave_scale=150.0 * DAY,
                        late_promote_p=0.05, close_p=0.05, text=0, photo_p=0.45, bank_p=0.0,
                        desc_p=0.35, org=-1)
        for key, dv in defaults.items():
            dtype = bool if isinstance(dv, bool) else (np.int64 if isinstance(dv, int) else np.float64)
            d[key] = np.broadcast_to(np.asarray(kw.pop(key, dv)).astype(dtype), n).copy()
        assert not kw, kw
        gi = np.arange(self.nG, self.nG + n, dtype=np.int64)
        self.nG += n
        self.gchunks.append(d)
        self.add_slots(gi, d["creator"], 0, noleave=True)
        return gi

    def add_slots(self, g, a, kind, noleave=False, leave_p=np.nan, leave_scale=np.nan, target=-1):
        """Group memberships to be timed later. target: a time the join should follow closely
        (a recruitment wave), -1 for none."""
        n = len(g)
        self.schunks.append(dict(
            g=i64(g), a=i64(a), kind=np.broadcast_to(np.int8(kind), n).astype(np.int8),
            target=np.broadcast_to(i64(target), n).copy(),
            noleave=np.broadcast_to(noleave, n).astype(bool),
            lp=np.broadcast_to(float(leave_p) if np.isscalar(leave_p) else leave_p, n).astype(float),
            ls=np.broadcast_to(float(leave_scale) if np.isscalar(leave_scale) else leave_scale, n).astype(float)))

    def new_objects(self, n: int) -> np.ndarray:
        o = np.arange(self.n_objects, self.n_objects + n, dtype=np.int64)
        self.n_objects += n
        return o

    # ------------------------------------------------------------------ planted accounts

    def pick_planted_accounts(self):
        rng = self.rng
        nxt = self.R
        old = self.acc_created < self.end - 365 * DAY
        old[self.R:] = False
        for i, net in enumerate(self.nets):
            roles, throw = net["roles"], net["throw"]
            acc = np.empty(len(roles), np.int64)
            nt = int(throw.sum())
            acc[throw] = np.arange(nxt, nxt + nt)
            nxt += nt
            core_ok = self.acc_created < net["start"] - 30 * DAY
            core_ok[self.R:] = False
            if net["camo"]:
                core_ok &= old
            sel = ~throw & (roles < 2)
            acc[sel] = self.draw_free(int(sel.sum()), core_ok)
            sel = ~throw & (roles == 2)
            acc[sel] = self.draw_free(int(sel.sum()), old if net["camo"] else None)
            if net["camo"]:
                self.force_photo[acc] = True
            net["acc"] = acc
        assert nxt == self.N

    # ------------------------------------------------------------------ benign parts

    def sample_sizes(self, n: int) -> np.ndarray:
        rng = self.rng
        s = np.exp(rng.normal(np.log(8.0), 0.85, n))
        tail = rng.random(n) < 0.035
        s[tail] = 30.0 * (1.0 + rng.pareto(1.0, int(tail.sum())))
        return np.clip(np.round(s), 2, CAP).astype(np.int64)

    def part_ordinary(self):
        """Everyday groups drawn from ring neighbourhoods."""
        rng, R = self.rng, self.R
        target = R * 3.3
        sz = self.sample_sizes(int(target / 9) + 1000)
        n = int(np.searchsorted(np.cumsum(sz), target)) + 1
        sz = sz[:n]
        centre = self.pick_active(n)
        c0 = self.acc_created[centre]
        created = c0 + SEC + i64(np.maximum(self.end - 2 * HOUR - c0, 0) * rng.beta(1.4, 1.0, n))
        kind = np.empty(n, np.int64)
        for lo, hi, names, p in [(0, 10, ["family", "friends", "work", "hobby"], [.45, .4, .1, .05]),
                                 (11, 60, ["friends", "work", "hobby", "neighbourhood", "family"], [.3, .2, .25, .2, .05]),
                                 (61, CAP, ["community", "hobby", "neighbourhood"], [.4, .3, .3])]:
            m = (sz >= lo) & (sz <= hi)
            kind[m] = rng.choice([K[x] for x in names], int(m.sum()), p=p)
        p_link = np.array([.05, .25, .3, .6, .5, .85, 0, 0, 0, 0, 0, 0, 0, 0])[kind]
        leave = np.array([.05, .1, .2, .18, .15, .3, 0, 0, 0, 0, 0, 0, 0, 0])[kind]
        big = sz > 60
        gi = self.add_groups(
            centre, created, kind, p_link=p_link,
            approval=rng.random(n) < np.where(kind == K["community"], 0.15, 0.04),
            aoa=rng.random(n) < 0.25, leave_p=leave,
            early_p=np.where(big, 0.3, 0.6), early_scale=np.where(big, 20.0, 2.0) * DAY,
            reset_days=rng.uniform(200, 900, n), photo_p=0.45, desc_p=np.where(big, 0.6, 0.25))
        nreg = sz - 1
        g = np.repeat(gi, nreg)
        c = np.repeat(centre, nreg)
        w = np.repeat(np.where(big, 3 * sz, np.maximum(12, 1.5 * sz)), nreg)
        a = self.near(c, w)
        glob = rng.random(len(a)) < 0.12
        a[glob] = self.pick_active(int(glob.sum()))
        kind_s = np.full(len(a), 2, np.int8)
        first = np.cumsum(nreg) - nreg
        co = (rng.random(n) < 0.25 + 0.2 * (sz >= 20)) & (nreg > 0)
        kind_s[first[co]] = 1
        self.add_slots(g, a, 2)
        self.schunks[-1]["kind"] = kind_s

    def part_orgs(self):
        """Schools, clubs, companies: 3-15 groups sharing admins and a member pool."""
        rng, R = self.rng, self.R
        n_org = max(3, R // 1500)
        old_ok = self.acc_created < self.end - 500 * DAY
        G, S = [], []
        org_i = 0
        for _ in range(n_org):
            k = int(rng.integers(3, 16))
            W = int(rng.uniform(60, 500))
            c = int(rng.integers(R))
            pool = (c + np.arange(W)) % R
            cand = pool[old_ok[pool]]
            if len(cand) < 3:
                continue
            admins = rng.choice(cand, min(len(cand), int(rng.integers(2, 6))), replace=False)
            t0 = int(self.acc_created[admins].max() + rng.uniform(1, 300) * DAY)
            t0 = min(t0, self.end - 40 * DAY)
            created = np.sort(t0 + i64(rng.random(k) * (self.end - 5 * DAY - t0)))
            creator = admins[rng.integers(0, len(admins), k)]
            sz = np.clip(np.round(np.exp(rng.normal(np.log(25), 0.8, k))), 5, min(CAP, W)).astype(np.int64)
            sz[0] = min(CAP, max(sz[0], int(0.6 * W)))
            kind = K[rng.choice(["school", "club", "company"])]
            G.append(dict(creator=creator, created=created, kind=np.full(k, kind), org=np.full(k, org_i),
                          sz=sz, pool=pool, admins=admins))
            org_i += 1
        if not G:
            return
        creator = np.concatenate([x["creator"] for x in G])
        n = len(creator)
        gi = self.add_groups(creator, np.concatenate([x["created"] for x in G]),
                             np.concatenate([x["kind"] for x in G]),
                             p_link=0.55, approval=rng.random(n) < 0.15, aoa=rng.random(n) < 0.5,
                             reset_days=250.0, leave_p=0.12, text=3, photo_p=0.7, desc_p=0.6,
                             org=np.concatenate([x["org"] for x in G]))
        off = 0
        ga, aa, ka = [], [], []
        for x in G:
            k = len(x["creator"])
            gg = gi[off:off + k]
            off += k
            # the other admins become early co-admins of each group (most of the time)
            adm_g = np.repeat(gg, len(x["admins"]))
            adm_a = np.tile(x["admins"], k)
            keep = rng.random(len(adm_g)) < 0.85
            ga.append(adm_g[keep]); aa.append(adm_a[keep]); ka.append(np.ones(int(keep.sum()), np.int8))
            g = np.repeat(gg, x["sz"] - 1)
            a = x["pool"][rng.integers(0, len(x["pool"]), len(g))]
            glob = rng.random(len(g)) < 0.05
            a[glob] = self.pick_active(int(glob.sum()))
            ga.append(g); aa.append(a); ka.append(np.full(len(g), 2, np.int8))
        self.add_slots(np.concatenate(ga), np.concatenate(aa), 2)
        self.schunks[-1]["kind"] = np.concatenate(ka)
        self.n_orgs = org_i

    def young_near(self, t: np.ndarray, back_days: float) -> np.ndarray:
        """Ring accounts registered in the `back_days` before time t (one per element of t)."""
        lo = np.searchsorted(self.created_sorted, t - int(back_days * DAY))
        hi = np.searchsorted(self.created_sorted, t)
        hi = np.maximum(hi, lo + 1)
        idx = np.minimum(lo + i64(self.rng.random(len(t)) * (hi - lo)), self.R - 1)
        return self.by_created[idx]

    def part_events(self):
        rng, R = self.rng, self.R
        n_sets = max(2, R // 4000)
        org = self.draw_free(n_sets, self.acc_created < self.end - 250 * DAY)
        self.decoy_core.append(org)
        self.event_sets = []
        old_ok = self.acc_created < self.end - 200 * DAY
        for i in range(n_sets):
            k = 1 + int(rng.binomial(4, 0.45))
            t0 = self.end - int(rng.uniform(2, 70) * DAY)
            created = np.sort(t0 + i64(rng.random(k) * 2 * DAY))
            created = np.minimum(created, self.end - 3 * HOUR)
            join_end = np.minimum(created + i64(rng.uniform(1.5, 8, k) * DAY), self.end - MIN)
            sz = np.clip(np.round(np.exp(rng.normal(np.log(120), 0.7, k))), 30, CAP).astype(np.int64)
            gi = self.add_groups(np.full(k, org[i]), created, K["event"], p_link=0.97, burst_p=0.8,
                                 reset_days=3.0, early_p=0.6, early_scale=12.0 * HOUR, join_end=join_end,
                                 leave_p=0.35, leave_scale=7.0 * DAY, aoa=True, text=5, photo_p=0.8,
                                 close_p=0.6, desc_p=0.7, late_promote_p=0.0)
            nb = self.near(np.full(8, org[i]), np.full(8, 300))
            co = nb[old_ok[nb]][: int(rng.integers(1, 3))]
            if len(co):
                self.add_slots(np.repeat(gi, len(co)), np.tile(co, k), 1)
            # a shared pool for the set (so the event's groups overlap), half of it fresh accounts
            npool = int(sz.sum() * 0.8) + 10
            fresh = rng.random(npool) < 0.55
            pool = np.where(fresh, self.young_near(np.full(npool, t0 + DAY), 40),
                            self.near(np.full(npool, org[i]), np.full(npool, 2 * sz.max())))
            self.photo_p[pool[fresh]] = 0.25
            g = np.repeat(gi, sz - 1)
            a = pool[rng.integers(0, npool, len(g))]
            self.add_slots(g, a, 2)
            self.event_sets.append(dict(groups=gi, admins=np.r_[org[i], co]))

    def part_broadcast(self):
        rng = self.rng
        n_b = max(2, self.R // 10000)
        bc = self.draw_free(n_b, self.acc_created < self.end - 400 * DAY)
        self.decoy_core.append(bc)
        self.broadcasters = []
        for b in bc:
            k = int(rng.integers(2, 9))
            c0 = self.acc_created[b]
            created = np.sort(c0 + i64(rng.random(k) * (self.end - 30 * DAY - c0)))
            sz = np.clip(np.round(np.exp(rng.normal(np.log(250), 0.8, k))), 40, CAP).astype(np.int64)
            gi = self.add_groups(np.full(k, b), created, K["broadcast"], p_link=0.9, aoa=True,
                                 leave_p=0.25, early_p=0.3, early_scale=30.0 * DAY, photo_p=0.9,
                                 desc_p=0.8)
            g = np.repeat(gi, sz - 1)
            a = self.near(np.full(len(g), b), np.repeat(4 * sz, sz - 1))
            glob = rng.random(len(g)) < 0.35
            a[glob] = self.pick_active(int(glob.sum()))
            self.add_slots(g, a, 2)
            self.broadcasters.append(dict(acc=b, groups=gi))

    def part_spam(self):
        rng = self.rng
        n_s = max(2, self.R // 12000)
        sp = self.draw_free(n_s)
        self.acc_created[sp] = self.end - i64(rng.uniform(3, 80, n_s) * DAY)
        self.business_p[sp] = 0.3
        self.decoy_core.append(sp)
        self.spammers = []
        for s in sp:
            k = int(rng.integers(1, 6))
            c0 = self.acc_created[s] + HOUR
            created = np.sort(c0 + i64(rng.random(k) * (self.end - 2 * HOUR - c0)))
            sz = np.clip(np.round(np.exp(rng.normal(np.log(200), 0.6, k))), 40, CAP).astype(np.int64)
            gi = self.add_groups(np.full(k, s), created, K["spam"], p_link=0.0, aoa=True,
                                 join_end=np.minimum(created + 2 * DAY, self.end - MIN),
                                 early_p=1.0, early_scale=3.0 * HOUR, leave_p=0.65,
                                 leave_scale=1.5 * DAY, remove_frac=0.02, text=2, photo_p=0.3,
                                 late_promote_p=0.0, desc_p=0.8)
            g = np.repeat(gi, sz - 1)
            self.add_slots(g, self.pick_active(len(g)), 2)
            self.spammers.append(dict(acc=s, groups=gi))

    def part_market(self):
        rng = self.rng
        n_m = max(2, self.R // 10000)
        self.markets = []
        ok = self.acc_created < self.end - 90 * DAY
        for _ in range(n_m):
            k = int(rng.integers(2, 5))
            sellers = self.draw_free(int(rng.integers(5, 31)), ok)
            self.decoy_core.append(sellers)
            self.business_p[sellers] = 0.4
            creator = sellers[rng.integers(0, min(3, len(sellers)), k)]
            c0 = self.acc_created[creator] + HOUR
            created = c0 + i64(rng.random(k) * (self.end - 20 * DAY - c0))
            sz = np.clip(np.round(np.exp(rng.normal(np.log(200), 0.8, k))), 30, CAP).astype(np.int64)
            gi = self.add_groups(creator, created, K["marketplace"], p_link=0.85,
                                 approval=rng.random(k) < 0.1, leave_p=0.45, leave_scale=20.0 * DAY,
                                 early_p=0.25, early_scale=10.0 * DAY, text=4, photo_p=0.6, desc_p=0.7)
            g = np.repeat(gi, sz - 1)
            a = self.near(np.full(len(g), creator[0]), np.repeat(3 * sz, sz - 1))
            glob = rng.random(len(g)) < 0.4
            a[glob] = self.pick_active(int(glob.sum()))
            self.add_slots(g, a, 2)
            self.add_slots(np.repeat(gi, len(sellers)), np.tile(sellers, k), 2, noleave=True)
            self.markets.append(dict(groups=gi, sellers=sellers))

    # ------------------------------------------------------------------ planted networks

    def part_planted(self):
        rng = self.rng
        self.truth_acc = []
        for ni, net in enumerate(self.nets):
            s, camo, n_g = net["strength"], net["camo"], net["n_groups"]
            roles, acc = net["roles"], net["acc"]
            core = np.flatnonzero(roles < 2)
            created = np.sort(net["start"] + i64(rng.random(n_g) * net["span"]))
            created[0] = net["start"]
            perm = rng.permutation(core)
            creator_l = perm[np.arange(n_g) % len(core)]  # different creators where possible
            if camo:
                kw = dict(p_link=0.45, approval=rng.random(n_g) < 0.1, reset_days=250.0, burst_p=0.0,
                          early_p=0.5, early_scale=4.0 * DAY, text=0, photo_p=0.5, bank_p=0.0,
                          close_p=0.05, leave_p=0.1)
            else:
                kw = dict(p_link=0.55 + 0.4 * s, approval=rng.random(n_g) < 0.25,
                          reset_days=1.5 + 150 * (1 - s) ** 2, burst_p=0.3 * s, early_p=0.2,
                          early_scale=2.0 * DAY,
                          text=np.where(rng.random(n_g) < 0.3 + 0.6 * s, 1, 0), photo_p=0.6,
                          bank_p=0.35 * s, close_p=0.2 + 0.5 * s, leave_p=0.1 + 0.2 * s)
            gi = self.add_groups(acc[creator_l], created, K["planted"], net=ni, camo=camo,
                                 aoa=rng.random(n_g) < 0.5, leave_scale=15.0 * DAY,
                                 late_promote_p=0.05, desc_p=0.4, **kw)
            # sparse co-admins: sometimes one other core member
            co = rng.random(n_g) < 0.35
            co_l = core[rng.integers(0, len(core), n_g)]
            co &= co_l != creator_l
            self.add_slots(gi[co], acc[co_l[co]], 1, noleave=True)
            # who is in which group
            n_m = len(roles)
            memb = np.zeros((n_m, n_g), bool)
            p_di = 0.5 if camo else 0.55 + 0.3 * s
            memb[roles == 1] = rng.random(((roles == 1).sum(), n_g)) < p_di
            memb[roles == 0] = rng.random(((roles == 0).sum(), n_g)) < 0.3
            q = (0.1 + 0.15 * s) if camo else (0.12 + 0.25 * s)
            cons = np.flatnonzero(roles == 2)
            m = 1 + rng.binomial(n_g - 1, q, len(cons))
            order = np.argsort(rng.random((len(cons), n_g)), axis=1)
            memb[cons] = np.argsort(order, axis=1) < m[:, None]
            none = ~memb.any(1)
            memb[np.flatnonzero(none), rng.integers(0, n_g, int(none.sum()))] = True
            # recruitment waves (loud networks): a link reset in most groups, then throwaway
            # accounts registered hours before join several groups within the hour
            target = np.full(n_m, -1, np.int64)
            if not camo:
                n_w = 1 + int(rng.poisson(6 * s))
                waves = np.sort(net["start"] + HOUR + i64((self.end - 3 * HOUR - net["start"]) * rng.beta(2.0, 1.0, n_w)))
                ride = (roles == 2) & (net["throw"] | (rng.random(n_m) < 0.5 * s))
                target[ride] = waves[rng.integers(0, n_w, int(ride.sum()))]
                tc = (roles == 2) & net["throw"]
                self.acc_created[acc[tc]] = target[tc] - rng.integers(10 * MIN, 2 * DAY, int(tc.sum()))
                self.throw_fix[acc[tc]] = False
                wg = np.repeat(gi, n_w)
                wt = np.tile(waves, n_g) - rng.integers(0, 20 * MIN, n_g * n_w)
                keep = (wt > np.repeat(created, n_w) + HOUR) & (rng.random(len(wg)) < 0.2 + 0.6 * s)
                self.extra_links.append((wg[keep], wt[keep]))
            mi, gl = np.nonzero(memb)
            self.add_slots(gi[gl], acc[mi], 2, noleave=roles[mi] < 2, target=target[mi])
            # outsiders: ordinary accounts who wander in by link and leave again
            n_out = rng.poisson(1 + 0.03 * memb.sum(0))
            og = np.repeat(gi, n_out)
            self.add_slots(og, self.pick_active(len(og)), 2, leave_p=0.85, leave_scale=2.0 * DAY)
            net.update(groups=gi, memb=memb)
            self.truth_acc.append(dict(acc=acc, net=np.full(n_m, ni), role=roles, throw=net["throw"],
                                       camo=np.full(n_m, camo)))

    # ------------------------------------------------------------------ memberships

    def finalize_groups(self):
        self.G = {k: np.concatenate([c[k] for c in self.gchunks]) for k in self.gchunks[0]}
        self.gchunks = []
        S = {k: np.concatenate([c[k] for c in self.schunks]) for k in self.schunks[0]}
        self.schunks = []
        rng, G = self.rng, self.G
        # one slot per (group, account), the highest kind wins (creator < early admin < member)
        key = S["g"] * self.N + S["a"]
        o = np.lexsort((S["kind"], key))
        ks = key[o]
        first = np.ones(len(o), bool)
        first[1:] = ks[1:] != ks[:-1]
        o = o[first]
        S = {k: v[o] for k, v in S.items()}
        # an early admin must exist when the group is created
        young = (S["kind"] == 1) & (self.acc_created[S["a"]] >= G["created"][S["g"]])
        S["kind"][young] = 2
        # cap: at most 1024 accounts ever join a group (so never more than 1024 members)
        o = np.lexsort((rng.random(len(S["g"])), S["kind"], S["g"]))
        S = {k: v[o] for k, v in S.items()}
        cnt = np.bincount(S["g"], minlength=self.nG)
        rank = seg_arange(cnt)
        keep = rank < CAP
        S = {k: v[keep] for k, v in S.items()}
        self.S = S

    def make_links(self):
        rng, G, S = self.rng, self.G, self.S
        nG = self.nG
        adm = S["kind"] <= 1
        self.adm_g, self.adm_a = S["g"][adm], S["a"][adm]
        self.adm_cnt = np.bincount(self.adm_g, minlength=nG)
        self.adm_off = np.cumsum(self.adm_cnt) - self.adm_cnt
        has = (G["p_link"] > 0) | (G["burst_p"] > 0)
        link_end = np.minimum(G["join_end"], self.end - MIN)
        span = np.maximum(0, link_end - G["created"] - HOUR)
        lam = np.where(np.isfinite(G["reset_days"]), span / (G["reset_days"] * DAY), 0.0)
        n_l = np.where(has, 1 + np.minimum(rng.poisson(lam), 400), 0)
        lg = np.repeat(np.arange(nG), n_l)
        pos = seg_arange(n_l)
        t = np.where(pos == 0, G["created"][lg] + rng.integers(MIN, 30 * MIN, len(lg)),
                     G["created"][lg] + HOUR + i64(rng.random(len(lg)) * span[lg]))
        if self.extra_links:
            eg = np.concatenate([x[0] for x in self.extra_links])
            et = np.concatenate([x[1] for x in self.extra_links])
            ok = has[eg] & (et < link_end[eg])
            lg, t = np.r_[lg, eg[ok]], np.r_[t, et[ok]]
            n_l = n_l + np.bincount(eg[ok], minlength=nG)
        o = np.lexsort((t, lg))
        lg, t = lg[o], t[o]
        pos = seg_arange(n_l)
        by = self.random_admin(lg)
        by[pos == 0] = G["creator"][lg[pos == 0]]
        rev = np.full(len(lg), NEVER)
        same = lg[1:] == lg[:-1]
        rev[:-1][same] = t[1:][same]  # a reset revokes the previous link
        last = np.r_[~same, True]
        close = last & (rng.random(len(lg)) < G["close_p"][lg])
        stop = np.maximum(link_end[lg], t + MIN)
        rev[close] = t[close] + i64(rng.random(int(close.sum())) * (stop[close] - t[close]))
        rev = np.where(rev >= self.end, NEVER, rev)
        self.L = dict(g=lg, created=t, revoked=rev, by=by)
        self.l_cnt = n_l
        self.l_off = np.cumsum(n_l) - n_l
        self.T0 = int(min(t.min() if len(t) else self.end, G["created"].min())) - DAY
        self.l_key = lg * (np.int64(1) << 41) + (t - self.T0)

    def random_admin(self, g: np.ndarray) -> np.ndarray:
        idx = self.adm_off[g] + i64(self.rng.random(len(g)) * self.adm_cnt[g])
        return self.adm_a[idx]

    def build_memberships(self):
        rng, G, S, L = self.rng, self.G, self.S, self.L
        g, a, kind = S["g"], S["a"], S["kind"]
        n = len(g)
        created = G["created"][g]
        join = np.empty(n, np.int64)
        method = np.full(n, -1, np.int64)
        link = np.full(n, -1, np.int64)
        actor = np.full(n, -1, np.int64)
        promote = np.full(n, -1, np.int64)
        k0, k1, k2 = kind == 0, kind == 1, kind == 2
        join[k0] = created[k0]
        method[k0] = 0
        join[k1] = created[k1] + rng.integers(MIN, 30 * MIN, int(k1.sum()))
        method[k1] = 1
        actor[k1] = G["creator"][g[k1]]
        promote[k1] = join[k1] + rng.integers(MIN, 10 * MIN, int(k1.sum()))
        # ordinary members
        r = np.flatnonzero(k2)
        gr, ar = g[r], a[r]
        lo = np.maximum(created[r] + HOUR, self.acc_created[ar] + MIN)
        hi = np.minimum(G["join_end"][gr], self.end - MIN)
        has_l = self.l_cnt[gr] > 0
        burst = has_l & (rng.random(len(r)) < G["burst_p"][gr])
        li = self.l_off[gr] + i64(rng.random(len(r)) * self.l_cnt[gr])
        li = np.where(has_l, li, 0)
        tb = L["created"][li] + i64(rng.exponential(25 * MIN, len(r))) if len(L["g"]) else np.zeros(len(r), np.int64)
        ok_b = burst & (tb >= lo) & (tb < hi) & (tb < L["revoked"][li] if len(L["g"]) else False)
        early = rng.random(len(r)) < G["early_p"][gr]
        te = lo + i64(rng.exponential(G["early_scale"][gr]))
        tu = lo + i64(rng.random(len(r)) * np.maximum(hi - lo, 0))
        t = np.where(early & (te < hi), te, tu)
        t = np.where(ok_b, tb, t)
        # recruitment waves: join within the hour after the wave (or right after the group exists)
        tg = S["target"][r]
        tw = np.maximum(tg, lo) + i64(rng.exponential(40 * MIN, len(r)))
        ok_w = (tg >= 0) & (tw < hi)
        t = np.where(ok_w, tw, t)
        valid = lo < hi
        join[r] = t
        # how they arrived
        want_link = ok_b | (ok_w & has_l) | (has_l & (rng.random(len(r)) < G["p_link"][gr]))
        li2 = np.searchsorted(self.l_key, gr * (np.int64(1) << 41) + (t - self.T0), side="right") - 1
        li2 = np.where(ok_b, li, li2)
        li2c = np.clip(li2, 0, max(len(L["g"]) - 1, 0))
        is_link = want_link & (li2 >= 0) & has_l
        if len(L["g"]):
            is_link &= (L["g"][li2c] == gr) & (t >= L["created"][li2c]) & (t < L["revoked"][li2c])
        appr = is_link & G["approval"][gr]
        m = np.where(is_link, 2, 1)
        m[appr] = 3
        method[r] = m
        link[r] = np.where(is_link, li2c, -1)
        need_actor = (m == 1) | (m == 3)
        act = np.full(len(r), -1, np.int64)
        act[need_actor] = self.random_admin(gr[need_actor])
        actor[r] = act
        # drop members who could not join (account registered after the group stopped growing)
        keep = np.ones(n, bool)
        keep[r[~valid]] = False
        S = {k: v[keep] for k, v in S.items()}
        g, a, kind = S["g"], S["a"], S["kind"]
        join, method, link, actor, promote = join[keep], method[keep], link[keep], actor[keep], promote[keep]
        n = len(g)
        # throwaway accounts are registered shortly before their first join
        tw = self.throw_fix[a]
        first = np.full(self.N, NEVER)
        np.minimum.at(first, a[tw], join[tw])
        thr = np.flatnonzero(self.throw_fix)
        f = first[thr]
        self.acc_created[thr] = np.where(
            f < NEVER, f - rng.integers(10 * MIN, 3 * DAY, len(thr)),
            self.win + i64(rng.random(len(thr)) * (self.end - self.win - DAY)))
        # leaves and removals
        lp = np.where(np.isnan(S["lp"]), self.G["leave_p"][g], S["lp"])
        ls = np.where(np.isnan(S["ls"]), self.G["leave_scale"][g], S["ls"])
        leaving = (kind == 2) & ~S["noleave"] & (rng.random(n) < lp)
        tl = join + MIN + i64(rng.exponential(ls))
        leaving &= tl < self.end - MIN
        leave = np.where(leaving, tl, NEVER)
        removed = leaving & (rng.random(n) < self.G["remove_frac"][g])
        rem_actor = np.full(n, -1, np.int64)
        rem_actor[removed] = self.random_admin(g[removed])
        # later promotions (and some demotions) of ordinary members, by the creator
        reg = kind == 2
        reg_cnt = np.bincount(g[reg], minlength=self.nG)
        reg_idx = np.flatnonzero(reg)
        reg_off = np.cumsum(reg_cnt) - reg_cnt
        pg = np.flatnonzero((rng.random(self.nG) < self.G["late_promote_p"]) & (reg_cnt > 0))
        ps = reg_idx[reg_off[pg] + i64(rng.random(len(pg)) * reg_cnt[pg])]
        stop = np.where(leave[ps] < NEVER, leave[ps], self.end - MIN)
        pt = join[ps] + 1 + i64(rng.random(len(ps)) * np.maximum(stop - join[ps] - 2, 0))
        dm = rng.random(len(ps)) < 0.3
        dt_ = pt + 1 + i64(rng.random(len(ps)) * np.maximum(stop - pt - 2, 0))
        ok = pt < stop
        ps, pt, dm, dt_ = ps[ok], pt[ok], dm[ok] & (dt_ < stop[ok]), dt_[ok]
        # store the membership state (used for forwards, reports, labels)
        self.S = dict(g=g, a=a, kind=kind, join=join, leave=leave, noleave=S["noleave"])
        # events
        e1 = np.flatnonzero(kind == 1)
        parts = [
            (join, g, a, 0, method, link, actor),
            (promote[e1], g[e1], a[e1], 3, -1, -1, self.G["creator"][g[e1]]),
            (pt, g[ps], a[ps], 3, -1, -1, self.G["creator"][g[ps]]),
            (dt_[dm], g[ps[dm]], a[ps[dm]], 4, -1, -1, self.G["creator"][g[ps[dm]]]),
        ]
        lv = np.flatnonzero(leaving)
        parts.append((leave[lv], g[lv], a[lv], np.where(removed[lv], 2, 1), -1, -1,
                      np.where(removed[lv], rem_actor[lv], -1)))
        cols = list(zip(*[[np.broadcast_to(i64(x), len(p[0])) for x in p] for p in parts]))
        ts, eg, ea, ev, em, el, eac = (np.concatenate(c) for c in cols)
        o = np.lexsort((ev, ea, eg, ts))
        self.ME = dict(ts=ts[o], g=eg[o], a=ea[o], event=ev[o], method=em[o], link=el[o], actor=eac[o])
        # account -> slot index (CSR) for picking a sender's groups
        o = np.argsort(self.S["a"], kind="stable")
        self.acc_slots = o
        self.acc_scnt = np.bincount(self.S["a"], minlength=self.N)
        self.acc_soff = np.cumsum(self.acc_scnt) - self.acc_scnt

    def slot_of(self, acc: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """A random group slot of each account, -1 where none or not a member at ts."""
        c = self.acc_scnt[acc]
        idx = self.acc_soff[acc] + i64(self.rng.random(len(acc)) * c)
        s = np.where(c > 0, self.acc_slots[np.minimum(idx, len(self.acc_slots) - 1)], -1)
        ok = (s >= 0)
        sc = np.maximum(s, 0)
        ok &= (self.S["join"][sc] <= ts) & (ts < self.S["leave"][sc])
        return np.where(ok, s, -1)

    def group_csr(self):
        if not hasattr(self, "g_soff"):
            self.g_sorted = np.argsort(self.S["g"], kind="stable")
            self.g_scnt = np.bincount(self.S["g"], minlength=self.nG)
            self.g_soff = np.cumsum(self.g_scnt) - self.g_scnt

    def join_matrix(self, groups: np.ndarray, accs: np.ndarray):
        """join/leave time matrices (accounts x groups); NEVER where not a member."""
        self.group_csr()
        gl = np.repeat(np.arange(len(groups)), self.g_scnt[groups])
        sel = self.g_sorted[np.repeat(self.g_soff[groups], self.g_scnt[groups]) + seg_arange(self.g_scnt[groups])]
        order = np.argsort(accs)
        sa = accs[order]
        pos = np.minimum(np.searchsorted(sa, self.S["a"][sel]), len(sa) - 1)
        hit = sa[pos] == self.S["a"][sel]
        ai, gl, sel = order[pos[hit]], gl[hit], sel[hit]
        J = np.full((len(accs), len(groups)), NEVER)
        Lv = np.full((len(accs), len(groups)), NEVER)
        J[ai, gl] = self.S["join"][sel]
        Lv[ai, gl] = self.S["leave"][sel]
        return J, Lv

    # ------------------------------------------------------------------ forwards

    def add_forwards(self, ts, sender, src, dst_g, dst_a, mtype, obj, ff, act_local):
        act_local = i64(act_local)
        if len(act_local) == 0:
            return
        u, inv = np.unique(act_local, return_inverse=True)
        self.fchunks.append(dict(ts=i64(ts), sender=i64(sender), src=i64(src), dst_g=i64(dst_g),
                                 dst_a=i64(dst_a), mtype=i64(mtype), obj=i64(obj), ff=np.asarray(ff, bool),
                                 act=self.n_actions + inv.astype(np.int64)))
        self.n_actions += len(u)

    def forwards_benign(self):
        rng, R = self.rng, self.R
        nv = max(200, R // 200)
        viral = self.new_objects(nv)
        vtype = rng.choice([M["image"], M["video"], M["sticker"]], nv, p=[.6, .3, .1])
        vw = 1.0 / (np.arange(nv) + 1.0) ** 1.1
        vcum = np.cumsum(vw)
        self.viral, self.vtype, self.vcum = viral, vtype, vcum
        lam = rng.lognormal(0.0, 1.2, R) / np.exp(0.72) * 2.6
        nact = rng.poisson(lam)
        snd = np.repeat(np.arange(R), nact)
        lo = np.maximum(self.win, self.acc_created[snd] + MIN)
        ok = lo < self.end - MIN
        snd, lo = snd[ok], lo[ok]
        A = len(snd)
        ts = lo + i64(rng.random(A) * (self.end - MIN - lo))
        mt = rng.choice(7, A, p=[.33, .27, .1, .05, .05, .1, .1])
        is_v = (rng.random(A) < 0.15) & (mt != M["text"]) & (mt != M["link"])
        vo = np.minimum(np.searchsorted(vcum, rng.random(A) * vcum[-1]), nv - 1)
        obj = np.where(is_v, viral[vo], -1)
        mt = np.where(is_v, vtype[vo], mt)
        fresh = (~is_v) & (mt != M["text"]) & (mt != M["link"])
        obj[fresh] = self.new_objects(int(fresh.sum()))
        ff = np.where(is_v, rng.random(A) < 0.55, rng.random(A) < np.where(mt == M["text"], 0.08, 0.03))
        b = np.where(ff, 1, rng.choice([1, 2, 3, 4, 5], A, p=[.74, .12, .07, .04, .03]))
        ss = self.slot_of(snd, ts)
        src = np.where((rng.random(A) < 0.45) & (ss >= 0), self.S["g"][np.maximum(ss, 0)], -1)
        act = np.repeat(np.arange(A), b)
        rs = snd[act]
        rts = ts[act]
        to_g = rng.random(len(act)) < 0.13
        sl = self.slot_of(rs[to_g], rts[to_g])
        dst_g = np.full(len(act), -1, np.int64)
        dst_g[np.flatnonzero(to_g)] = np.where(sl >= 0, self.S["g"][np.maximum(sl, 0)], -1)
        dst_g[dst_g == src[act]] = -1
        step = rng.integers(1, 150, len(act)) * rng.choice([-1, 1], len(act))
        dst_a = (rs + step) % R
        far = rng.random(len(act)) < 0.08
        dst_a[far] = rng.integers(0, R, int(far.sum()))
        dst_a[dst_a == rs] = (dst_a[dst_a == rs] + 1) % R
        dst_a = np.where(dst_g >= 0, -1, dst_a)
        self.add_forwards(rts, rs, src[act], dst_g, dst_a, mt[act], obj[act], ff[act], act)

    def propagate(self, groups, senders, n_obj, d_fn, chunk_fn, mtypes, mp, src_null_p, ff_p=0.0,
                  t_lo=None):
        """Media objects moving among a set of groups: each object is forwarded by a sender
        (who stays a member) from one of the set's groups (or a 1:1 chat) to d other groups of
        the set that the sender belongs to, in forward actions of at most `chunk` chats.
        Returns the delivered rows (for re-forwards)."""
        rng = self.rng
        J, _ = self.join_matrix(groups, senders)
        n_g = len(groups)
        t_lo = self.win if t_lo is None else t_lo
        so = rng.integers(0, len(senders), n_obj)
        memb = J[so] < NEVER
        nm = memb.sum(1)
        keys = rng.random((n_obj, n_g))
        keys[~memb] = 2.0
        order = np.argsort(keys, axis=1)
        has_src = (rng.random(n_obj) >= src_null_p) & (nm >= 2)
        start = has_src.astype(np.int64)
        d = np.clip(d_fn(n_obj), 1, np.maximum(nm - start, 0))
        keep = nm - start >= 1
        d = np.where(keep, d, 0)
        ob = np.repeat(np.arange(n_obj), d)
        pos = seg_arange(d)
        dl = order[ob, start[ob] + pos]
        srcl = np.where(has_src, order[:, 0], -1)
        jt = J[so[ob], dl]
        t0 = np.full(n_obj, -1, np.int64)
        np.maximum.at(t0, ob, jt)
        t0 = np.where(has_src, np.maximum(t0, J[so, np.maximum(srcl, 0)]), t0)
        lo = np.maximum(t0 + 5 * MIN, t_lo)
        tobj = lo + i64(rng.random(n_obj) * np.maximum(self.end - 10 * MIN - lo, 0))
        ok_o = keep & (lo < self.end - 10 * MIN)
        chunk = chunk_fn(n_obj)
        ff = rng.random(n_obj) < ff_p
        chunk = np.where(ff, 1, chunk)  # a frequently forwarded message goes to one chat per action
        ok_r = ok_o[ob]
        ob, pos, dl = ob[ok_r], pos[ok_r], dl[ok_r]
        ai = pos // chunk[ob]
        act = ob * 64 + ai
        ts = np.minimum(tobj[ob] + ai * rng.integers(5 * SEC, 90 * SEC, n_obj)[ob], self.end - MIN)
        objs = self.new_objects(n_obj)
        mt = np.asarray(mtypes)[rng.choice(len(mtypes), n_obj, p=mp)]
        fp = np.where((mt == M["text"]) | (mt == M["link"]), -1, objs)
        src_g = np.where(srcl >= 0, groups[np.maximum(srcl, 0)], -1)
        self.add_forwards(ts, senders[so[ob]], src_g[ob], groups[dl], np.full(len(ob), -1),
                          mt[ob], fp[ob], ff[ob], act)
        return dict(g=groups[dl], gl=dl, ts=ts, obj=fp[ob], mt=mt[ob])

    def forwards_decoys(self):
        rng = self.rng
        for es in self.event_sets:
            k = len(es["groups"])
            self.propagate(es["groups"], es["admins"], int(rng.integers(10, 60)),
                           lambda n: rng.integers(1, k + 1, n), lambda n: np.full(n, 5),
                           [M["image"], M["video"]], [.85, .15], src_null_p=0.4)
        for mk in self.markets:
            k = len(mk["groups"])
            self.propagate(mk["groups"], mk["sellers"], int(self.a.days * rng.uniform(2, 10)),
                           lambda n: rng.integers(1, k + 1, n), lambda n: np.full(n, 5),
                           [M["image"], M["video"], M["text"]], [.85, .05, .1], src_null_p=0.85)
        for bc in self.broadcasters:
            gs = bc["groups"]
            A = int(self.a.days * rng.uniform(4, 20))
            nobj = max(3, A // 5)
            objs = self.new_objects(nobj)
            mto = rng.choice([M["image"], M["video"]], nobj, p=[.6, .4])
            ff = rng.random(A) < 0.85
            d = np.where(ff, 1, np.minimum(rng.integers(1, 4, A), len(gs)))
            keys = np.argsort(rng.random((A, len(gs))), axis=1)
            act = np.repeat(np.arange(A), d)
            pos = seg_arange(d)
            dst = gs[keys[act, pos]]
            o = rng.integers(0, nobj, A)
            lo = np.maximum(self.win, self.G["created"][dst] + HOUR)
            t_a = self.win + i64(rng.random(A) * (self.end - MIN - self.win))
            tmax = np.full(A, -1, np.int64)
            np.maximum.at(tmax, act, lo)
            t_a = np.maximum(t_a, tmax)
            okr = t_a[act] < self.end - MIN
            self.add_forwards(t_a[act][okr], np.full(int(okr.sum()), bc["acc"]), np.full(int(okr.sum()), -1),
                              dst[okr], np.full(int(okr.sum()), -1), mto[o][act][okr], objs[o][act][okr],
                              ff[act][okr], act[okr])
        for sp in self.spammers:
            s = sp["acc"]
            A = int(rng.integers(30, 300))
            lo = max(self.win, int(self.acc_created[s]) + HOUR)
            if lo >= self.end - MIN:
                continue
            ts = lo + i64(rng.random(A) * (self.end - MIN - lo))
            mt = rng.choice([M["link"], M["text"], M["image"]], A, p=[.5, .3, .2])
            obj = np.full(A, -1, np.int64)
            im = mt == M["image"]
            obj[im] = self.new_objects(int(im.sum()))
            act = np.repeat(np.arange(A), 5)
            dst = self.pick_active(len(act))
            dst[dst == s] = (s + 1) % self.R
            self.add_forwards(ts[act], np.full(len(act), s), np.full(len(act), -1), np.full(len(act), -1),
                              dst, mt[act], obj[act], np.zeros(len(act), bool), act)
            sp["fwd_dst"], sp["fwd_ts"] = dst, ts[act]

    def forwards_planted(self):
        rng = self.rng
        for net in self.nets:
            s, camo, n_g = net["strength"], net["camo"], net["n_groups"]
            roles, acc, gi = net["roles"], net["acc"], net["groups"]
            senders = acc[roles < 2]
            n_obj = int(round(n_g * ((3 + 10 * s) if camo else (4 + 30 * s))))
            if camo:
                d_fn = lambda n: rng.integers(1, 4, n)
                ch_fn = lambda n: rng.integers(1, 4, n)
                ffp = 0.05
            else:
                d_fn = lambda n: np.where(rng.random(n) < s, rng.integers(5, 11, n), rng.integers(1, 5, n))
                ch_fn = lambda n: np.where(rng.random(n) < s, 5, rng.integers(1, 5, n))
                ffp = 0.1 * (1 - s)
            dl = self.propagate(gi, senders, n_obj, d_fn, ch_fn, [M["image"], M["video"], M["document"]],
                                [.6, .35, .05], src_null_p=0.2, ff_p=ffp)
            # consumers pass some objects on 1:1 to other members of the network
            cons = acc[roles == 2]
            if len(dl["g"]) == 0 or len(cons) < 2:
                continue
            pick = rng.random(len(dl["g"])) < 0.25 * (0.3 + s)
            rows = np.flatnonzero(pick & (dl["obj"] >= 0))
            if len(rows) == 0:
                continue
            J, Lv = self.join_matrix(gi, cons)
            t = dl["ts"][rows]
            ok = (J[:, dl["gl"][rows]] < t[None, :]) & (Lv[:, dl["gl"][rows]] > t[None, :])
            keys = np.where(ok, rng.random(ok.shape), -1.0)
            ci = keys.argmax(0)
            have = keys.max(0) >= 0
            rows, ci, t = rows[have], ci[have], t[have]
            tt = t + MIN + i64(rng.exponential(6 * HOUR, len(rows)))
            okt = (tt < self.end - MIN) & (tt < Lv[ci, dl["gl"][rows]])
            rows, ci, tt = rows[okt], ci[okt], tt[okt]
            b = rng.integers(1, 3, len(rows))
            act = np.repeat(np.arange(len(rows)), b)
            dst = acc[rng.integers(0, len(acc), len(act))]
            snd = cons[ci][act]
            keep = dst != snd
            self.add_forwards(tt[act][keep], snd[keep], dl["g"][rows][act][keep], np.full(int(keep.sum()), -1),
                              dst[keep], dl["mt"][rows][act][keep], dl["obj"][rows][act][keep],
                              np.zeros(int(keep.sum()), bool), act[keep])

    def finalize_forwards(self):
        F = {k: np.concatenate([c[k] for c in self.fchunks]) for k in self.fchunks[0]}
        self.fchunks = []
        # a 1:1 destination must already be registered
        ok = (F["dst_a"] < 0) | (self.acc_created[np.maximum(F["dst_a"], 0)] < F["ts"])
        F = {k: v[ok] for k, v in F.items()}
        # one row per (action, destination chat)
        dst = np.where(F["dst_g"] >= 0, self.N + F["dst_g"], F["dst_a"])
        key = F["act"] * (self.N + self.nG + 1) + dst
        _, first = np.unique(key, return_index=True)
        F = {k: v[first] for k, v in F.items()}
        F["batch"] = np.bincount(F["act"], minlength=self.n_actions)[F["act"]]
        assert F["batch"].max() <= 5
        assert (F["batch"][F["ff"]] == 1).all()
        o = np.lexsort((F["dst_a"], F["dst_g"], F["act"], F["ts"]))
        self.F = {k: v[o] for k, v in F.items()}

    # ------------------------------------------------------------------ reports and blocks

    def add_reports(self, ts, reporter, kind, target, reason):
        n = len(ts)
        ts = i64(ts)
        d = dict(ts=ts, rep=i64(reporter), kind=np.broadcast_to(i64(kind), n).copy(),
                 tgt=i64(target), reason=np.broadcast_to(i64(reason), n).copy())
        ok = (d["ts"] >= self.win) & (d["ts"] < self.end) & ~((d["kind"] == 0) & (d["rep"] == d["tgt"]))
        self.rchunks.append({k: v[ok] for k, v in d.items()})

    def add_blocks(self, ts, blocker, blocked, unknown):
        n = len(ts)
        d = dict(ts=i64(ts), blocker=i64(blocker), blocked=i64(blocked),
                 unknown=np.broadcast_to(np.asarray(unknown, bool), n).copy())
        ok = (d["ts"] >= self.win) & (d["ts"] < self.end) & (d["blocker"] != d["blocked"])
        self.bchunks.append({k: v[ok] for k, v in d.items()})

    def window_time(self, lo, hi=None):
        lo = np.maximum(i64(lo), self.win)
        hi = np.full(len(lo), self.end - MIN) if hi is None else np.minimum(i64(hi), self.end - MIN)
        return lo + i64(self.rng.random(len(lo)) * np.maximum(hi - lo, 0)), lo < hi

    def reports_blocks(self):
        rng, R, S = self.rng, self.R, self.S
        nS = len(S["g"])
        benign_g = self.G["net"] < 0
        # members reporting their groups
        sl = rng.integers(0, nS, rng.poisson(0.004 * nS))
        sl = sl[benign_g[S["g"][sl]]]
        t, ok = self.window_time(S["join"][sl], S["leave"][sl])
        self.add_reports(t[ok], S["a"][sl][ok], 1, S["g"][sl][ok],
                         rng.choice([1, 2, 3, 4], int(ok.sum()), p=[.35, .1, .25, .3]))
        # accounts reporting accounts (mostly people they know)
        n = rng.poisson(0.005 * R)
        rep = rng.integers(0, R, n)
        tgt = self.near(rep, np.full(n, 300))
        far = rng.random(n) < 0.3
        tgt[far] = rng.integers(0, R, int(far.sum()))
        t, ok = self.window_time(np.maximum(self.acc_created[rep], self.acc_created[tgt]))
        self.add_reports(t[ok], rep[ok], 0, tgt[ok], rng.choice([1, 2, 3, 4], int(ok.sum()), p=[.3, .15, .35, .2]))
        # a few false child-safety reports on random benign groups and accounts
        n = rng.poisson(0.0003 * R) + 1
        sl = rng.integers(0, nS, n)
        sl = sl[benign_g[S["g"][sl]]]
        t, ok = self.window_time(S["join"][sl], S["leave"][sl])
        self.add_reports(t[ok], S["a"][sl][ok], 1, S["g"][sl][ok], 0)
        rep = rng.integers(0, R, n)
        tgt = rng.integers(0, R, n)
        t, ok = self.window_time(np.maximum(self.acc_created[rep], self.acc_created[tgt]))
        self.add_reports(t[ok], rep[ok], 0, tgt[ok], 0)
        # background blocks
        n = rng.poisson(0.015 * R)
        bl = rng.integers(0, R, n)
        far = rng.random(n) < 0.3
        bd = np.where(far, rng.integers(0, R, n), self.near(bl, np.full(n, 200)))
        unk = np.where(far, rng.random(n) < 0.9, rng.random(n) < 0.15)
        t, ok = self.window_time(np.maximum(self.acc_created[bl], self.acc_created[bd]))
        self.add_blocks(t[ok], bl[ok], bd[ok], unk[ok])
        # decoys: false child-safety reports on some event/market/broadcast groups
        kind = self.G["kind"]
        dg = np.flatnonzero(np.isin(kind, [K["event"], K["marketplace"], K["broadcast"]]))
        hit = dg[rng.random(len(dg)) < 0.15]
        nr = 1 + rng.poisson(0.8, len(hit))
        hg = np.repeat(hit, nr)
        rep = self.members_of(hg)
        t, ok = self.window_time(np.maximum(self.G["created"][hg], self.acc_created[rep]))
        self.add_reports(t[ok], rep[ok], 1, hg[ok], 0)
        # spam: recipients report and block the spammer
        spam_slots = np.flatnonzero(kind[S["g"]] == K["spam"]) if nS else np.empty(0, int)
        spam_slots = spam_slots[S["kind"][spam_slots] == 2]
        creator = self.G["creator"][S["g"][spam_slots]]
        r1 = spam_slots[rng.random(len(spam_slots)) < 0.06]
        t = S["join"][r1] + i64(rng.exponential(6 * HOUR, len(r1)))
        on_g = rng.random(len(r1)) < 0.5
        self.add_reports(t, S["a"][r1], np.where(on_g, 1, 0),
                         np.where(on_g, S["g"][r1], self.G["creator"][S["g"][r1]]),
                         rng.choice([1, 2], len(r1), p=[.7, .3]))
        b1 = spam_slots[rng.random(len(spam_slots)) < 0.12]
        t = S["join"][b1] + i64(rng.exponential(6 * HOUR, len(b1)))
        self.add_blocks(t, S["a"][b1], self.G["creator"][S["g"][b1]], rng.random(len(b1)) < 0.95)
        for sp in self.spammers:
            dst = sp.get("fwd_dst")
            if dst is None:
                continue
            got = self.acc_created[dst] < sp["fwd_ts"]
            x = np.flatnonzero(got & (rng.random(len(dst)) < 0.05))
            t = sp["fwd_ts"][x] + i64(rng.exponential(2 * HOUR, len(x)))
            self.add_blocks(t, dst[x], np.full(len(x), sp["acc"]), True)
            self.add_reports(t, dst[x], 0, np.full(len(x), sp["acc"]), R_["spam"])
        # planted networks: child-safety reports and unknown-contact blocks scaled by strength
        for net in self.nets:
            s, camo, gi, acc, roles = net["strength"], net["camo"], net["groups"], net["acc"], net["roles"]
            lam = 0.15 * s if camo else 4.0 * s ** 1.5
            nr = rng.poisson(lam, len(gi))
            hg = np.repeat(gi, nr)
            rep = np.where(rng.random(len(hg)) < 0.6, self.members_of(hg), self.pick_active(len(hg)))
            t, ok = self.window_time(np.maximum(self.G["created"][hg], self.acc_created[rep]) + HOUR)
            self.add_reports(t[ok], rep[ok], 1, hg[ok], np.where(rng.random(int(ok.sum())) < 0.85, 0, 4))
            core = acc[roles < 2]
            na = rng.poisson((0.1 if camo else 1.5) * s, len(core))
            tg = np.repeat(core, na)
            rep = self.pick_active(len(tg))
            t, ok = self.window_time(np.maximum(self.acc_created[tg], self.acc_created[rep]) + HOUR)
            self.add_reports(t[ok], rep[ok], 0, tg[ok], np.where(rng.random(int(ok.sum())) < 0.8, 0, 3))
            lamb = np.where(roles < 2, 0.4 * s if camo else 6.0 * s, 0.03 * s if camo else 0.3 * s)
            nb = rng.poisson(lamb)
            bd = np.repeat(acc, nb)
            bl = self.pick_active(len(bd))
            t, ok = self.window_time(np.maximum(self.acc_created[bd], self.acc_created[bl]) + HOUR)
            self.add_blocks(t[ok], bl[ok], bd[ok], rng.random(int(ok.sum())) < 0.9)

    def members_of(self, gs: np.ndarray) -> np.ndarray:
        """A random account that ever joined each group."""
        S = self.S
        self.group_csr()
        idx = self.g_soff[gs] + i64(self.rng.random(len(gs)) * self.g_scnt[gs])
        return S["a"][self.g_sorted[idx]]

    # ------------------------------------------------------------------ surfaces

    def token_text(self, style: np.ndarray, nonnull: np.ndarray, lo: int, hi: int, org=None) -> pa.Array:
        rng = self.rng
        n = len(style)
        lens = np.where(nonnull, rng.integers(lo, hi + 1, n), 0)
        row = np.repeat(np.arange(n), lens)
        pos = seg_arange(lens)
        tok = np.empty(len(row), np.int64)
        st = style[row]
        base = 1.0 / (np.arange(V) + 3.0) ** 0.9
        base = base[self.vocab_perm]
        for sty in np.unique(st):
            w = base.copy()
            if sty in STYLE_BOOST:
                words, f = STYLE_BOOST[sty]
                for wd in words:
                    w[W_[wd]] *= f
            cw = np.cumsum(w)
            m = st == sty
            tok[m] = np.minimum(np.searchsorted(cw, rng.random(int(m.sum())) * cw[-1]), V - 1)
        if org is not None:
            orow = org[row]
            mo = (orow >= 0) & (pos < 2)
            tok[mo] = splitmix64(orow[mo] * 2 + pos[mo]).astype(np.uint64) % np.uint64(V)
        values = pa.array(VOCAB).take(pa.array(tok))
        offsets = pa.array(np.r_[0, np.cumsum(lens)].astype(np.int32))
        lst = pa.ListArray.from_arrays(offsets, values, mask=pa.array(lens == 0))
        return pc.binary_join(lst, " ")

    def pdq_random(self, n: int) -> np.ndarray:
        return self.rng.integers(0, 256, (n, 32), dtype=np.uint8)

    def pdq_near_bank(self, n: int) -> np.ndarray:
        """Near copies (Hamming distance 0..20) of random hash-bank entries."""
        rng = self.rng
        base = self.bank[rng.integers(0, len(self.bank), n)].copy()
        k = rng.integers(0, 21, n)
        rank = np.argsort(np.argsort(rng.random((n, 256)), axis=1), axis=1)
        flip = np.packbits(rank < k[:, None], axis=1)
        return base ^ flip

    def make_surfaces(self):
        rng, N = self.rng, self.N
        self.vocab_perm = rng.permutation(V)
        nb = min(6000, 2000 + self.N // 100)
        self.bank = self.pdq_random(nb)
        self.bank_name = np.where(rng.random(nb) < 0.7, 0, 1)
        self.bank_added = self.end - i64(rng.uniform(1, 1500, nb) * DAY)
        self.bank_added_null = rng.random(nb) < 0.05
        # accounts
        age = self.end - self.acc_created
        p = np.where(age < 30 * DAY, 0.35, 0.78)
        p = np.where(np.isnan(self.photo_p), p, self.photo_p)
        p[self.throw] = 0.08
        has = (rng.random(N) < p) | self.force_photo
        ph = self.pdq_random(N)
        common = has & (rng.random(N) < 0.02)
        shared = self.pdq_random(200)
        ph[common] = shared[rng.integers(0, 200, int(common.sum()))]
        tr = np.concatenate([x["acc"] for x in self.truth_acc])
        trole = np.concatenate([x["role"] for x in self.truth_acc])
        tnet = np.concatenate([x["net"] for x in self.truth_acc])
        s = np.array([n["strength"] for n in self.nets])[tnet]
        cm = np.array([n["camo"] for n in self.nets])[tnet]
        match = ~cm & (rng.random(len(tr)) < np.where(trole < 2, 0.15, 0.02) * s)
        ph[tr[match]] = self.pdq_near_bank(int(match.sum()))
        has[tr[match]] = True
        self.acc_photo, self.acc_has_photo = ph, has
        block = np.arange(N) // 3000
        dom = rng.choice(len(COUNTRIES), block.max() + 1, p=COUNTRY_W / COUNTRY_W.sum())[block]
        ctry = np.where(rng.random(N) < 0.85, dom, rng.choice(len(COUNTRIES), N, p=COUNTRY_W / COUNTRY_W.sum()))
        ctry[self.throw] = rng.integers(0, len(COUNTRIES), int(self.throw.sum()))
        self.acc_country = pa.array(COUNTRIES).take(pa.array(ctry))
        self.acc_country_null = rng.random(N) < 0.01
        self.acc_business = rng.random(N) < self.business_p
        self.acc_business_null = rng.random(N) < 0.05
        astyle = np.zeros(N, np.int64)
        loud = tr[~cm & (trole < 2) & (rng.random(len(tr)) < 0.5 * s)]
        astyle[loud] = 1
        nonnull = rng.random(N) < np.where(self.throw, 0.15, 0.55)
        self.acc_about = self.token_text(astyle, nonnull, 1, 6)
        # groups
        G, nG = self.G, self.nG
        hasg = rng.random(nG) < G["photo_p"]
        gph = self.pdq_random(nG)
        bm = hasg & (rng.random(nG) < G["bank_p"])
        gph[bm] = self.pdq_near_bank(int(bm.sum()))
        self.g_photo, self.g_has_photo = gph, hasg
        self.g_subject = self.token_text(G["text"], rng.random(nG) < 0.97, 1, 4, org=G["org"])
        self.g_desc = self.token_text(G["text"], rng.random(nG) < G["desc_p"], 2, 12)
        self.g_aoa_null = rng.random(nG) < 0.02
        self.g_appr_null = (~G["approval"]) & (rng.random(nG) < 0.02)

    # ------------------------------------------------------------------ labels and truth

    def label_time(self, created: np.ndarray) -> np.ndarray:
        rng = self.rng
        lo = np.maximum(created + DAY, self.win - 120 * DAY)
        t = lo + i64(rng.random(len(created)) * np.maximum(self.end - HOUR - lo, 0))
        late = lo >= self.end - HOUR
        t[late] = created[late] + (self.end - created[late]) // 2
        return t

    def make_labels(self):
        rng, G = self.rng, self.G
        Lk, Li, Ll, Lt, Ls = [], [], [], [], []

        def add(kind, ids, lab, t, src):
            n = len(ids)
            Lk.append(np.full(n, kind)); Li.append(i64(ids)); Ll.append(np.broadcast_to(i64(lab), n).copy())
            Lt.append(i64(t)); Ls.append(np.broadcast_to(i64(src), n).copy())

        planted_acc = np.zeros(self.N, bool)
        for x in self.truth_acc:
            planted_acc[x["acc"]] = True
        for net in self.nets:
            if not net["revealed"]:
                continue
            gi = net["groups"]
            share = rng.uniform(0.45, 0.9)
            pick = rng.random(len(gi)) < share
            pick[rng.integers(len(gi))] = True
            g = gi[pick]
            add(1, g, 0, self.label_time(G["created"][g]), rng.choice([0, 1], len(g), p=[.6, .4]))
            acc, roles = net["acc"], net["roles"]
            pa_ = rng.random(len(acc)) < np.array([0.5, 0.4, 0.05])[roles]
            a = acc[pa_]
            add(0, a, 0, self.label_time(self.acc_created[a]), rng.choice([0, 1], len(a), p=[.6, .4]))
        # dismissed reviews: decoys and random benign entities
        benign_g = G["net"] < 0
        dec = np.flatnonzero(np.isin(G["kind"], [K["event"], K["broadcast"], K["spam"], K["marketplace"]]))
        d = dec[rng.random(len(dec)) < 0.3]
        rnd = np.flatnonzero(benign_g & (rng.random(self.nG) < 0.002))
        g = np.unique(np.r_[d, rnd])
        add(1, g, 1, self.label_time(G["created"][g]), 1)
        core = np.concatenate(self.decoy_core)
        ca = core[rng.random(len(core)) < 0.25]
        ra = np.flatnonzero((rng.random(self.N) < 0.0005) & ~planted_acc)
        a = np.unique(np.r_[ca, ra])
        a = a[~planted_acc[a]]
        add(0, a, 1, self.label_time(self.acc_created[a]), 1)
        # upheld appeals: violating by enforcement, later benign on appeal
        na = max(3, self.N // 20000)
        gpool = np.setdiff1d(np.flatnonzero(benign_g), g)
        ga = rng.choice(gpool, na, replace=False)
        t1 = np.minimum(self.label_time(G["created"][ga]), self.end - 3 * DAY)
        t1 = np.maximum(t1, G["created"][ga] + HOUR)
        t2 = t1 + i64(rng.random(na) * np.maximum(self.end - HOUR - t1, 1))
        add(1, ga, 0, t1, 0)
        add(1, ga, 1, t2, 2)
        aa = rng.choice(np.setdiff1d(np.flatnonzero(~planted_acc[: self.R]), a), na, replace=False)
        t1 = np.minimum(self.label_time(self.acc_created[aa]), self.end - 3 * DAY)
        t1 = np.maximum(t1, self.acc_created[aa] + HOUR)
        t2 = t1 + i64(rng.random(na) * np.maximum(self.end - HOUR - t1, 1))
        add(0, aa, 0, t1, 0)
        add(0, aa, 1, t2, 2)
        lab = dict(kind=np.concatenate(Lk), ent=np.concatenate(Li), label=np.concatenate(Ll),
                   ts=np.concatenate(Lt), source=np.concatenate(Ls))
        o = np.lexsort((lab["label"], lab["ent"], lab["kind"], lab["ts"]))
        self.LB = {k: v[o] for k, v in lab.items()}

    # ------------------------------------------------------------------ writing

    def gid(self, g):
        return self.ids(g, "group")

    def aid(self, a):
        return self.ids(a, "account")

    def write(self, out: str) -> dict:
        inp = os.path.join(out, "input")
        counts = {}
        N, nG = self.N, self.nG
        # accounts (two files, to exercise multi-file tables)
        acc = pa.table({
            "account_id": pa.array(self.aid(np.arange(N)), U64),
            "created_at": pa.array(self.acc_created, T_MS),
            "country": pc.if_else(pa.array(self.acc_country_null), pa.scalar(None, pa.string()), self.acc_country),
            "is_business": pa.array(self.acc_business, mask=self.acc_business_null),
            "about": self.acc_about,
            "photo_pdq": pdq_array(self.acc_photo, self.acc_has_photo),
        })
        o = np.argsort(self.aid(np.arange(N)))
        acc = acc.take(pa.array(o))
        write_plain(acc, os.path.join(inp, "accounts"), parts=2)
        counts["accounts"] = N
        G = self.G
        grp = pa.table({
            "group_id": pa.array(self.gid(np.arange(nG)), U64),
            "created_at": pa.array(G["created"], T_MS),
            "creator_id": pa.array(self.aid(G["creator"]), U64),
            "subject": self.g_subject,
            "description": self.g_desc,
            "photo_pdq": pdq_array(self.g_photo, self.g_has_photo),
            "admins_only_add": pa.array(G["aoa"], mask=self.g_aoa_null),
            "join_approval": pa.array(G["approval"], mask=self.g_appr_null),
        })
        grp = grp.take(pa.array(np.argsort(self.gid(np.arange(nG)))))
        write_plain(grp, os.path.join(inp, "groups"))
        counts["groups"] = nG
        L = self.L
        lid = self.ids(np.arange(len(L["g"])), "link")
        lk = pa.table({
            "link_id": pa.array(lid, U64),
            "group_id": pa.array(self.gid(L["g"]), U64),
            "created_by": pa.array(self.aid(L["by"]), U64),
            "created_at": pa.array(L["created"], T_MS),
            "revoked_at": pa.array(np.where(L["revoked"] >= NEVER, 0, L["revoked"]), T_MS,
                                   mask=L["revoked"] >= NEVER),
        })
        write_plain(lk, os.path.join(inp, "invite_links"))
        counts["invite_links"] = len(lid)
        E = self.ME
        mem = pa.table({
            "ts": pa.array(E["ts"], T_MS),
            "group_id": pa.array(self.gid(E["g"]), U64),
            "account_id": pa.array(self.aid(E["a"]), U64),
            "event": pa.array(EVENTS).take(pa.array(E["event"])),
            "method": pa.array(METHODS).take(pa.array(np.maximum(E["method"], 0), mask=E["method"] < 0)),
            "invite_link_id": pa.array(lid[np.maximum(E["link"], 0)] if len(lid) else np.zeros(len(E["ts"]), np.uint64),
                                       U64, mask=E["link"] < 0),
            "actor_id": pa.array(self.aid(np.maximum(E["actor"], 0)), U64, mask=E["actor"] < 0),
        })
        write_partitioned(mem, E["ts"], os.path.join(inp, "memberships"))
        counts["memberships"] = mem.num_rows
        F = self.F
        fw = pa.table({
            "ts": pa.array(F["ts"], T_MS),
            "sender_id": pa.array(self.aid(F["sender"]), U64),
            "src_group_id": pa.array(self.gid(np.maximum(F["src"], 0)), U64, mask=F["src"] < 0),
            "dst_group_id": pa.array(self.gid(np.maximum(F["dst_g"], 0)), U64, mask=F["dst_g"] < 0),
            "dst_account_id": pa.array(self.aid(np.maximum(F["dst_a"], 0)), U64, mask=F["dst_a"] < 0),
            "media_type": pa.array(MEDIA).take(pa.array(F["mtype"])),
            "media_fp": pa.array(self.ids(np.maximum(F["obj"], 0), "media"), U64, mask=F["obj"] < 0),
            "frequently_forwarded": pa.array(F["ff"]),
            "action_id": pa.array(self.ids(F["act"], "action"), U64),
            "batch_size": pa.array(F["batch"].astype(np.uint8)),
        })
        write_partitioned(fw, F["ts"], os.path.join(inp, "forwards"))
        counts["forwards"] = fw.num_rows
        Rr = {k: np.concatenate([c[k] for c in self.rchunks]) for k in self.rchunks[0]}
        o = np.lexsort((Rr["tgt"], Rr["rep"], Rr["ts"]))
        Rr = {k: v[o] for k, v in Rr.items()}
        rep = pa.table({
            "ts": pa.array(Rr["ts"] * 1000 + self.rng.integers(0, 1000, len(o)), T_US),  # microseconds
            "reporter_id": pa.array(self.aid(Rr["rep"]), U64),
            "target_kind": pa.array(["account", "group"]).take(pa.array(Rr["kind"])),
            "target_id": pa.array(np.where(Rr["kind"] == 1, self.gid(Rr["tgt"]), self.aid(Rr["tgt"])), U64),
            "reason": pa.array(REASONS).take(pa.array(Rr["reason"])),
        })
        write_partitioned(rep, Rr["ts"], os.path.join(inp, "reports"))
        counts["reports"] = rep.num_rows
        B = {k: np.concatenate([c[k] for c in self.bchunks]) for k in self.bchunks[0]}
        o = np.lexsort((B["blocked"], B["blocker"], B["ts"]))
        B = {k: v[o] for k, v in B.items()}
        blk = pa.table({
            "ts": pa.array(B["ts"], T_MS),
            "blocker_id": pa.array(self.aid(B["blocker"]), U64),
            "blocked_id": pa.array(self.aid(B["blocked"]), U64),
            "unknown_contact": pa.array(B["unknown"]),
        })
        write_partitioned(blk, B["ts"], os.path.join(inp, "blocks"))
        counts["blocks"] = blk.num_rows
        hb = pa.table({
            "pdq": pdq_array(self.bank, np.ones(len(self.bank), bool)),
            "bank": pa.array(["clearinghouse_a", "clearinghouse_b"]).take(pa.array(self.bank_name)),
            "added_at": pa.array(self.bank_added, T_MS, mask=self.bank_added_null),
        })
        write_plain(hb, os.path.join(inp, "hash_bank"))
        counts["hash_bank"] = hb.num_rows
        LB = self.LB
        lb = pa.table({
            "entity_kind": pa.array(["account", "group"]).take(pa.array(LB["kind"])),
            "entity_id": pa.array(np.where(LB["kind"] == 1, self.gid(LB["ent"]), self.aid(LB["ent"])), U64),
            "label": pa.array(["violating", "benign"]).take(pa.array(LB["label"])),
            "ts": pa.array(LB["ts"], T_MS),
            "source": pa.array(["enforcement", "review", "appeal"]).take(pa.array(LB["source"])),
        })
        write_plain(lb, os.path.join(inp, "labels"))
        counts["labels"] = lb.num_rows
        counts.update(self.write_truth(os.path.join(out, "truth")))
        return counts

    def write_truth(self, tdir: str) -> dict:
        os.makedirs(tdir, exist_ok=True)
        G = self.G
        net = G["net"]
        tg = pa.table({
            "group_id": pa.array(self.gid(np.arange(self.nG)), U64),
            "kind": pa.array(KINDS).take(pa.array(G["kind"])),
            "violating": pa.array(net >= 0),
            "network": pa.array((net + 1).astype(np.uint64), U64, mask=net < 0),
            "camouflaged": pa.array(G["camo"]),
        })
        pq.write_table(tg, os.path.join(tdir, "groups.parquet"))
        ta = {k: np.concatenate([x[k] for x in self.truth_acc]) for k in self.truth_acc[0]}
        tac = pa.table({
            "account_id": pa.array(self.aid(ta["acc"]), U64),
            "network": pa.array((ta["net"] + 1).astype(np.uint64), U64),
            "role": pa.array(ROLES).take(pa.array(ta["role"])),
            "throwaway": pa.array(ta["throw"]),
            "camouflaged": pa.array(ta["camo"]),
        })
        pq.write_table(tac, os.path.join(tdir, "accounts.parquet"))
        viol = self.LB["label"] == 0
        vg = set(self.LB["ent"][viol & (self.LB["kind"] == 1)].tolist())
        va = set(self.LB["ent"][viol & (self.LB["kind"] == 0)].tolist())
        labelled = [bool(vg & set(n["groups"].tolist()) or va & set(n["acc"].tolist())) for n in self.nets]
        k = len(self.nets)
        tn = pa.table({
            "network": pa.array(np.arange(1, k + 1, dtype=np.uint64), U64),
            "strength": pa.array([n["strength"] for n in self.nets], pa.float64()),
            "camouflaged": pa.array([n["camo"] for n in self.nets]),
            "start": pa.array(np.array([G["created"][n["groups"]].min() for n in self.nets], np.int64), T_MS),
            "n_groups": pa.array([len(n["groups"]) for n in self.nets], pa.uint64()),
            "n_accounts": pa.array([len(n["acc"]) for n in self.nets], pa.uint64()),
            "labelled": pa.array(labelled),
        })
        pq.write_table(tn, os.path.join(tdir, "networks.parquet"))
        self.labelled = labelled
        return {"truth_groups": tg.num_rows, "truth_accounts": tac.num_rows, "truth_networks": tn.num_rows}


# ----------------------------------------------------------------------------- io helpers

def pdq_array(rows: np.ndarray, valid: np.ndarray) -> pa.Array:
    n = len(rows)
    data = pa.py_buffer(np.ascontiguousarray(rows, dtype=np.uint8).tobytes())
    bitmap = pa.py_buffer(np.packbits(valid.astype(bool), bitorder="little").tobytes())
    return pa.Array.from_buffers(PDQ, n, [bitmap, data], null_count=int((~valid).sum()))


def write_plain(t: pa.Table, d: str, parts: int = 1):
    os.makedirs(d, exist_ok=True)
    n = t.num_rows
    step = -(-n // parts)
    for i in range(parts):
        pq.write_table(t.slice(i * step, max(0, min(step, n - i * step))), os.path.join(d, f"part-{i}.parquet"))


def write_partitioned(t: pa.Table, ts_ms: np.ndarray, d: str):
    """Hive partitions dt=YYYY-MM-DD by the UTC date of ts (rows must be sorted by ts)."""
    os.makedirs(d, exist_ok=True)
    days = ts_ms // DAY
    assert (np.diff(days) >= 0).all()
    u, start = np.unique(days, return_index=True)
    stop = np.r_[start[1:], len(days)]
    for dd, s, e in zip(u, start, stop):
        p = os.path.join(d, f"dt={day_str(int(dd) * DAY)}")
        os.makedirs(p, exist_ok=True)
        pq.write_table(t.slice(int(s), int(e - s)), os.path.join(p, "part-0.parquet"))


# ----------------------------------------------------------------------------- driver

def generate(a: argparse.Namespace):
    t_all = time.time()
    timings = {}
    w = World(a)

    def stage(name, fn):
        t = time.time()
        fn()
        timings[name] = round(time.time() - t, 2)
        print(f"  {name:<20} {timings[name]:7.2f}s", file=sys.stderr)

    stage("plan", lambda: (w.plan_networks(), w.make_accounts(), w.pick_planted_accounts()))

    def prep_young():
        w.by_created = np.argsort(w.acc_created[: w.R], kind="stable")
        w.created_sorted = w.acc_created[: w.R][w.by_created]

    def parts():
        w.part_spam()  # spammers' registration dates are set before anything depends on them
        prep_young()
        w.part_ordinary()
        w.part_orgs()
        w.part_events()
        w.part_broadcast()
        w.part_market()
        w.part_planted()

    stage("groups", parts)
    stage("memberships", lambda: (w.finalize_groups(), w.make_links(), w.build_memberships()))
    stage("forwards", lambda: (w.forwards_benign(), w.forwards_decoys(), w.forwards_planted(),
                               w.finalize_forwards()))
    stage("reports_blocks", w.reports_blocks)
    stage("surfaces", w.make_surfaces)
    stage("labels", w.make_labels)
    if os.path.exists(a.out):
        for sub in ("input", "truth"):
            shutil.rmtree(os.path.join(a.out, sub), ignore_errors=True)
    counts = {}
    stage("write", lambda: counts.update(w.write(a.out)))
    kinds = np.bincount(w.G["kind"], minlength=len(KINDS))
    meta = {
        "generator": "indgen",
        "args": {"accounts": a.accounts, "seed": a.seed, "preset": a.preset, "as_of": a.as_of, "days": a.days},
        "window": {"start": day_str(w.win), "end_exclusive": day_str(w.end)},
        "rows": counts,
        "groups_by_kind": {k: int(kinds[i]) for i, k in enumerate(KINDS)},
        "networks": [{"network": i + 1, "n_groups": int(len(n["groups"])), "n_accounts": int(len(n["acc"])),
                      "strength": round(n["strength"], 4), "camouflaged": n["camo"], "revealed": n["revealed"],
                      "labelled": w.labelled[i], "throwaways": int(n["throw"].sum())}
                     for i, n in enumerate(w.nets)],
        "violating_group_labels": int(((w.LB["label"] == 0) & (w.LB["kind"] == 1)).sum()),
        "violating_account_labels": int(((w.LB["label"] == 0) & (w.LB["kind"] == 0)).sum()),
    }
    with open(os.path.join(a.out, "indgen.json"), "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"  total                {time.time() - t_all:7.2f}s", file=sys.stderr)
    print(json.dumps(counts))


# ----------------------------------------------------------------------------- check mode

def check(d: str) -> int:
    import polars as pl
    import pyarrow.dataset as ds

    meta = json.load(open(os.path.join(d, "indgen.json")))
    asof = dt.datetime.strptime(meta["args"]["as_of"], "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
    end = int((asof + dt.timedelta(days=1)).timestamp() * 1000)
    win = end - meta["args"]["days"] * DAY
    inp = os.path.join(d, "input")
    fails: list[str] = []

    def req(cond, msg):
        if not bool(cond):
            fails.append(msg)
            print("  FAIL", msg)

    ID, TS, S_, B_, P_ = "id", "time", "string", "bool", "pdq"
    schema = {
        "accounts": [("account_id", ID, 0), ("created_at", TS, 0), ("country", S_, 1), ("is_business", B_, 1),
                     ("about", S_, 1), ("photo_pdq", P_, 1)],
        "groups": [("group_id", ID, 0), ("created_at", TS, 0), ("creator_id", ID, 0), ("subject", S_, 1),
                   ("description", S_, 1), ("photo_pdq", P_, 1), ("admins_only_add", B_, 1),
                   ("join_approval", B_, 1)],
        "memberships": [("ts", TS, 0), ("group_id", ID, 0), ("account_id", ID, 0), ("event", EVENTS, 0),
                        ("method", METHODS, 1), ("invite_link_id", ID, 1), ("actor_id", ID, 1)],
        "invite_links": [("link_id", ID, 0), ("group_id", ID, 0), ("created_by", ID, 0), ("created_at", TS, 0),
                         ("revoked_at", TS, 1)],
        "forwards": [("ts", TS, 0), ("sender_id", ID, 0), ("src_group_id", ID, 1), ("dst_group_id", ID, 1),
                     ("dst_account_id", ID, 1), ("media_type", MEDIA, 0), ("media_fp", ID, 1),
                     ("frequently_forwarded", B_, 0), ("action_id", ID, 1), ("batch_size", "small", 0)],
        "reports": [("ts", TS, 0), ("reporter_id", ID, 0), ("target_kind", ["account", "group"], 0),
                    ("target_id", ID, 0), ("reason", REASONS, 0)],
        "blocks": [("ts", TS, 0), ("blocker_id", ID, 0), ("blocked_id", ID, 0), ("unknown_contact", B_, 0)],
        "hash_bank": [("pdq", P_, 0), ("bank", S_, 0), ("added_at", TS, 1)],
        "labels": [("entity_kind", ["account", "group"], 0), ("entity_id", ID, 0),
                   ("label", ["violating", "benign"], 0), ("ts", TS, 0),
                   ("source", ["enforcement", "review", "appeal"], 0)],
    }
    event_time = {"memberships": "ts", "forwards": "ts", "reports": "ts", "blocks": "ts"}
    T: dict[str, pl.DataFrame] = {}
    print(f"checking {d}")
    for tname, cols in schema.items():
        tdir = os.path.join(inp, tname)
        req(os.path.isdir(tdir), f"{tname}: folder missing")
        files = []
        for root, dirs, fs in os.walk(tdir):
            dirs.sort()
            for f in sorted(fs):
                files.append(os.path.join(root, f))
        req(files and all(f.endswith(".parquet") for f in files), f"{tname}: non-parquet entries")
        partitioned = tname in event_time
        for f in files:
            rel = os.path.relpath(f, tdir)
            if partitioned:
                req(rel.count(os.sep) == 1 and rel.startswith("dt=") and len(rel.split(os.sep)[0]) == 13,
                    f"{tname}: bad partition path {rel}")
            else:
                req(os.sep not in rel, f"{tname}: unexpected sub-folder {rel}")
        sch = None
        for f in files:
            s = pq.read_schema(f)
            s = s.remove_metadata()
            sch = sch or s
            req(s.equals(sch), f"{tname}: schema differs in {f}")
        names = [c[0] for c in cols]
        req(sch.names == names, f"{tname}: columns {sch.names} != {names}")
        for name, typ, nullable in cols:
            if name not in sch.names:
                continue
            ty = sch.field(name).type
            if typ == ID:
                req(ty == pa.uint64(), f"{tname}.{name}: {ty} is not uint64")
            elif typ == TS:
                req(pa.types.is_timestamp(ty) and ty.tz == "UTC", f"{tname}.{name}: {ty} is not a UTC timestamp")
            elif typ == B_:
                req(ty == pa.bool_(), f"{tname}.{name}: {ty}")
            elif typ == P_:
                req(ty == pa.binary(32), f"{tname}.{name}: {ty}")
            elif typ == "small":
                req(pa.types.is_integer(ty), f"{tname}.{name}: {ty}")
            else:
                req(pa.types.is_string(ty), f"{tname}.{name}: {ty}")
        tab = ds.dataset(tdir, format="parquet", partitioning="hive" if partitioned else None).to_table()
        df = pl.from_arrow(tab)
        T[tname] = df
        req(df.height > 0, f"{tname}: empty")
        for name, typ, nullable in cols:
            if not nullable:
                req(df[name].null_count() == 0, f"{tname}.{name}: nulls in a non-null column")
            if isinstance(typ, list):
                bad = df.filter(pl.col(name).is_not_null() & ~pl.col(name).is_in(typ)).height
                req(bad == 0, f"{tname}.{name}: {bad} values outside the enum")
        if partitioned:
            c = event_time[tname]
            bad = df.filter(pl.col(c).dt.strftime("%Y-%m-%d") != pl.col("dt").cast(pl.String)).height
            req(bad == 0, f"{tname}: {bad} rows whose date disagrees with dt=")
            T[tname] = df.drop("dt")
        print(f"  {tname:<13} {df.height:>10,} rows  {len(files):>5} files")
    A, Gp, Mm, Ln, F, Rp, Bl, LB = (T[x] for x in ["accounts", "groups", "memberships", "invite_links",
                                                    "forwards", "reports", "blocks", "labels"])
    for tname, pk in [("accounts", "account_id"), ("groups", "group_id"), ("invite_links", "link_id")]:
        req(T[tname][pk].n_unique() == T[tname].height, f"{tname}: duplicate {pk}")
    ids = A["account_id"].cast(pl.Float64)
    hi_share = float((ids > 2.0 ** 63).mean())
    req(0.4 < hi_share < 0.6, f"account ids do not span 64 bits (share >= 2^63: {hi_share:.2f})")
    req(float(A["account_id"].sort().diff().drop_nulls().min()) > 1, "account ids look sequential")
    accs = A.select("account_id", "created_at")
    # memberships
    win_ts = pl.lit(dt.datetime.fromtimestamp(win / 1000, tz=dt.timezone.utc))
    end_ts = pl.lit(dt.datetime.fromtimestamp(end / 1000, tz=dt.timezone.utc))
    req(Mm.filter((pl.col("event") == "join") != pl.col("method").is_not_null()).height == 0,
        "memberships: method set iff event is join")
    req(Mm.filter(pl.col("method").is_in(["invite_link", "approval"]) != pl.col("invite_link_id").is_not_null()).height == 0,
        "memberships: invite_link_id set iff invite_link/approval join")
    need_actor = pl.col("method").is_in(["added", "approval"]) | pl.col("event").is_in(["removed", "promote", "demote"])
    no_actor = pl.col("method").is_in(["creator", "invite_link"]) | (pl.col("event") == "leave")
    req(Mm.filter(need_actor & pl.col("actor_id").is_null()).height == 0, "memberships: actor missing")
    req(Mm.filter(no_actor & pl.col("actor_id").is_not_null()).height == 0, "memberships: unexpected actor")
    cj = Mm.filter(pl.col("method") == "creator")
    req(cj.height == Gp.height and cj["group_id"].n_unique() == Gp.height, "memberships: one creator join per group")
    x = Gp.join(cj, on="group_id", how="left")
    req(x.filter((pl.col("ts") != pl.col("created_at")) | (pl.col("account_id") != pl.col("creator_id"))).height == 0,
        "memberships: creator join does not match groups.created_at/creator_id")
    req(Mm.join(Gp.select("group_id"), on="group_id", how="anti").height == 0, "memberships: unknown group")
    x = Mm.join(accs, on="account_id", how="left")
    req(x["created_at"].null_count() == 0, "memberships: unknown account")
    req(x.filter(pl.col("ts") < pl.col("created_at")).height == 0, "memberships: event before account registration")
    x = Mm.join(Gp.select("group_id", pl.col("created_at").alias("gc")), on="group_id")
    req(x.filter(pl.col("ts") < pl.col("gc")).height == 0, "memberships: event before group creation")
    lj = Mm.filter(pl.col("invite_link_id").is_not_null()).join(
        Ln.rename({"group_id": "lg", "created_at": "lc"}), left_on="invite_link_id", right_on="link_id", how="left")
    req(lj["lg"].null_count() == 0, "memberships: unknown invite link")
    req(lj.filter(pl.col("lg") != pl.col("group_id")).height == 0, "memberships: link of another group")
    req(lj.filter((pl.col("ts") < pl.col("lc")) | (pl.col("revoked_at").is_not_null() & (pl.col("ts") >= pl.col("revoked_at")))).height == 0,
        "memberships: join through a link that was not live")
    # replay: per (group, account) state stays 0/1; leave/promote only as a member
    ev = Mm.sort("group_id", "account_id", "ts").with_columns(
        pl.when(pl.col("event") == "join").then(1).when(pl.col("event").is_in(["leave", "removed"])).then(-1)
        .otherwise(0).alias("d"))
    ev = ev.with_columns(pl.col("d").cum_sum().over("group_id", "account_id").alias("state"))
    req(ev.filter((pl.col("state") < 0) | (pl.col("state") > 1)).height == 0, "memberships: replay state not 0/1")
    req(ev.filter(pl.col("event").is_in(["promote", "demote"]) & (pl.col("state") != 1)).height == 0,
        "memberships: promote/demote of a non-member")
    size = Mm.sort("ts").with_columns(
        pl.when(pl.col("event") == "join").then(1).when(pl.col("event").is_in(["leave", "removed"])).then(-1)
        .otherwise(0).alias("d")).with_columns(pl.col("d").cum_sum().over("group_id").alias("n"))
    mx = int(size["n"].max())
    req(mx <= CAP, f"memberships: a group reached {mx} members")
    # actors are admins when they act
    adm = pl.concat([
        Gp.select("group_id", pl.col("creator_id").alias("actor_id"), pl.col("created_at").alias("since")),
        Mm.filter(pl.col("event") == "promote").group_by("group_id", "account_id").agg(pl.col("ts").min().alias("since"))
        .rename({"account_id": "actor_id"}),
    ]).group_by("group_id", "actor_id").agg(pl.col("since").min())
    acts = Mm.filter(pl.col("actor_id").is_not_null()).join(adm, on=["group_id", "actor_id"], how="left")
    req(acts.filter(pl.col("since").is_null() | (pl.col("since") > pl.col("ts"))).height == 0,
        "memberships: actor was not an admin")
    # links
    x = Ln.join(Gp.select("group_id", pl.col("created_at").alias("gc")), on="group_id", how="left")
    req(x["gc"].null_count() == 0, "invite_links: unknown group")
    req(x.filter((pl.col("created_at") < pl.col("gc")) | (pl.col("revoked_at") < pl.col("created_at"))).height == 0,
        "invite_links: times out of order")
    # forwards
    req(F.filter(pl.col("dst_group_id").is_null() == pl.col("dst_account_id").is_null()).height == 0,
        "forwards: not exactly one destination")
    bs = F.group_by("action_id").agg(pl.len().alias("n"), pl.col("batch_size").min().alias("b0"),
                                      pl.col("batch_size").max().alias("b1"))
    req(bs.filter((pl.col("n") != pl.col("b0")) | (pl.col("b0") != pl.col("b1"))).height == 0,
        "forwards: batch_size != rows of action_id")
    req(F.filter(pl.col("batch_size") > 5).height == 0, "forwards: batch over the client cap of 5")
    req(F.filter(pl.col("frequently_forwarded") & (pl.col("batch_size") != 1)).height == 0,
        "forwards: frequently forwarded with batch_size > 1")
    tl = pl.col("media_type").is_in(["text", "link"])
    req(F.filter(tl & pl.col("media_fp").is_not_null()).height == 0, "forwards: media_fp on text/link")
    req(F.filter(~tl & pl.col("media_fp").is_null()).height == 0, "forwards: media without media_fp")
    req(F.select(pl.struct("action_id", "dst_group_id", "dst_account_id").is_duplicated().sum()).item() == 0,
        "forwards: duplicate destination within an action")
    for tname, df in [("forwards", F), ("reports", Rp), ("blocks", Bl)]:
        req(df.filter((pl.col("ts") < win_ts) | (pl.col("ts") >= end_ts)).height == 0, f"{tname}: ts outside the window")
    req(F.join(accs, left_on="sender_id", right_on="account_id", how="anti").height == 0, "forwards: unknown sender")
    fg = F.filter(pl.col("dst_group_id").is_not_null()).join(
        Gp.select("group_id", pl.col("created_at").alias("gc")), left_on="dst_group_id", right_on="group_id", how="left")
    req(fg.filter(pl.col("gc").is_null() | (pl.col("ts") < pl.col("gc"))).height == 0,
        "forwards: destination group unknown or not created yet")
    for tname, df, col in [("forwards", F, "sender_id"), ("forwards", F, "dst_account_id"),
                           ("reports", Rp, "reporter_id"), ("blocks", Bl, "blocker_id"), ("blocks", Bl, "blocked_id")]:
        x = df.filter(pl.col(col).is_not_null()).join(accs, left_on=col, right_on="account_id", how="left")
        req(x["created_at"].null_count() == 0, f"{tname}.{col}: unknown account")
        req(x.filter(pl.col("ts") < pl.col("created_at")).height == 0, f"{tname}.{col}: account not registered yet")
    # reports, blocks, labels
    for kind, df, ref, key in [("account", Rp, A, "account_id"), ("group", Rp, Gp, "group_id")]:
        sub = df.filter(pl.col("target_kind") == kind)
        req(sub.join(ref, left_on="target_id", right_on=key, how="anti").height == 0, f"reports: unknown {kind} target")
    req(Bl.filter(pl.col("blocker_id") == pl.col("blocked_id")).height == 0, "blocks: self block")
    for kind, ref, key in [("account", A, "account_id"), ("group", Gp, "group_id")]:
        sub = LB.filter(pl.col("entity_kind") == kind)
        req(sub.join(ref, left_on="entity_id", right_on=key, how="anti").height == 0, f"labels: unknown {kind}")
    req(LB.filter(pl.col("ts") >= end_ts).height == 0, "labels: decided after the as-of date")
    # truth
    td = os.path.join(d, "truth")
    tg = pl.read_parquet(os.path.join(td, "groups.parquet"))
    ta = pl.read_parquet(os.path.join(td, "accounts.parquet"))
    tn = pl.read_parquet(os.path.join(td, "networks.parquet"))
    req(tg.columns == ["group_id", "kind", "violating", "network", "camouflaged"], "truth/groups columns")
    req(ta.columns == ["account_id", "network", "role", "throwaway", "camouflaged"], "truth/accounts columns")
    req(tn.columns == ["network", "strength", "camouflaged", "start", "n_groups", "n_accounts", "labelled"],
        "truth/networks columns")
    req(tg.height == Gp.height and tg.join(Gp, on="group_id", how="anti").height == 0, "truth/groups != groups")
    req(tg.filter(pl.col("violating") != pl.col("network").is_not_null()).height == 0, "truth: violating iff network")
    req(ta.join(A, on="account_id", how="anti").height == 0 and ta["account_id"].n_unique() == ta.height,
        "truth/accounts: unknown or duplicate account")
    ng = tg.filter(pl.col("violating")).group_by("network").agg(pl.len().alias("g"))
    na = ta.group_by("network").agg(pl.len().alias("a"))
    x = tn.join(ng, on="network", how="left").join(na, on="network", how="left")
    req(x.filter((pl.col("g") != pl.col("n_groups")) | (pl.col("a") != pl.col("n_accounts"))).height == 0,
        "truth/networks: counts disagree")
    vl = LB.filter(pl.col("label") == "violating")
    lg = tg.join(vl.filter(pl.col("entity_kind") == "group"), left_on="group_id", right_on="entity_id").select("network")
    la = ta.join(vl.filter(pl.col("entity_kind") == "account"), left_on="account_id", right_on="entity_id").select("network")
    lab_nets = set(pl.concat([lg, la])["network"].drop_nulls().to_list())
    req(all((r["network"] in lab_nets) == r["labelled"] for r in tn.iter_rows(named=True)),
        "truth/networks: labelled flag disagrees with labels")
    anyl = set(LB["entity_id"].to_list())
    unl = tn.filter(~pl.col("labelled"))["network"].to_list()
    bad = tg.filter(pl.col("network").is_in(unl) & pl.col("group_id").is_in(list(anyl))).height + \
        ta.filter(pl.col("network").is_in(unl) & pl.col("account_id").is_in(list(anyl))).height
    req(bad == 0, "labels: an unrevealed network has a labelled member")
    # summary statistics (informative)
    joins = Mm.filter(pl.col("event") == "join")
    gs = joins.group_by("group_id").agg(pl.len().alias("n"))
    per_acc = joins.group_by("account_id").agg(pl.len().alias("n"))
    one2one = float(F.join(ta, left_on="sender_id", right_on="account_id", how="anti")["dst_account_id"].is_not_null().mean())
    print("  ---")
    print(f"  groups: {Gp.height:,}  planted: {tg['violating'].sum()} ({tg['violating'].mean():.2%})  "
          f"networks: {tn.height} (camouflaged {tn['camouflaged'].sum()}, labelled {tn['labelled'].sum()})")
    print(f"  group size (accounts ever joined): median {gs['n'].median():.0f}, p99 {gs['n'].quantile(0.99):.0f}, "
          f"max {gs['n'].max()}; groups per account with any: median {per_acc['n'].median():.0f}, "
          f"mean {per_acc['n'].mean():.2f}")
    print(f"  forwards to 1:1 chats (non-network senders): {one2one:.1%}")
    print(f"  violating labels: groups {vl.filter(pl.col('entity_kind') == 'group').height}, "
          f"accounts {vl.filter(pl.col('entity_kind') == 'account').height}; all labels {LB.height}")
    print(f"  reports by reason: {dict(Rp.group_by('reason').len().sort('reason').iter_rows())}")
    print("  RESULT:", "OK" if not fails else f"{len(fails)} FAILURES")
    return 0 if not fails else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out")
    p.add_argument("--accounts", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--preset", choices=["loud", "mixed", "camouflaged"], default="mixed")
    p.add_argument("--as-of", dest="as_of", default="2026-11-24")
    p.add_argument("--days", type=int, default=60)
    p.add_argument("--check", metavar="DIR")
    a = p.parse_args()
    if a.check:
        sys.exit(check(a.check))
    if not a.out:
        p.error("--out is required (or --check DIR)")
    os.makedirs(a.out, exist_ok=True)
    generate(a)


if __name__ == "__main__":
    main()
