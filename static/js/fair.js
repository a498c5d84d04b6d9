// The provably fair algorithm of docs/fairness.md, computed in the browser with WebCrypto:
// HMAC-SHA256(server seed, "client_seed:nonce:cursor") blocks read as one byte stream, and each
// game's draw from it. Nothing here asks the server: a round is recomputed from its inputs only.

const encoder = new TextEncoder();
const UINT32_RANGE = 2 ** 32;
const TWO_POW_52 = 2n ** 52n;
const PITY_RARITIES = new Set(["epic", "legendary"]);
const RPS_CHOICES = ["rock", "paper", "scissors"];
const RPS_BEATS = { rock: "scissors", paper: "rock", scissors: "paper" };

export function hexToBytes(hex) {
  const clean = String(hex).trim().toLowerCase();
  if (!/^([0-9a-f]{2})+$/.test(clean)) throw new Error("not_hex");
  const bytes = new Uint8Array(clean.length / 2);
  for (let index = 0; index < bytes.length; index += 1) {
    bytes[index] = Number.parseInt(clean.slice(index * 2, index * 2 + 2), 16);
  }
  return bytes;
}

export function bytesToHex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(bytes) {
  return bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

// The round's byte stream: blocks are computed on demand, bytes consumed strictly in order.
export class FairStream {
  constructor(key, clientSeed, nonce) {
    this.key = key;
    this.clientSeed = clientSeed;
    this.nonce = nonce;
    this.cursor = 0;
    this.buffer = new Uint8Array(0);
  }

  static async open(serverSeedBytes, clientSeed, nonce) {
    const key = await crypto.subtle.importKey(
      "raw",
      serverSeedBytes,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    return new FairStream(key, clientSeed, nonce);
  }

  async take(count) {
    while (this.buffer.length < count) {
      const message = encoder.encode(`${this.clientSeed}:${this.nonce}:${this.cursor}`);
      const block = new Uint8Array(await crypto.subtle.sign("HMAC", this.key, message));
      const joined = new Uint8Array(this.buffer.length + block.length);
      joined.set(this.buffer);
      joined.set(block, this.buffer.length);
      this.buffer = joined;
      this.cursor += 1;
    }
    const taken = this.buffer.slice(0, count);
    this.buffer = this.buffer.slice(count);
    return taken;
  }

  async uint32() {
    const bytes = await this.take(4);
    return ((bytes[0] << 24) >>> 0) + (bytes[1] << 16) + (bytes[2] << 8) + bytes[3];
  }

  async uint52() {
    const bytes = await this.take(7);
    let value = 0n;
    for (const byte of bytes) value = (value << 8n) | BigInt(byte);
    return value >> 4n;
  }

  async below(n) {
    if (!(n >= 1 && n <= UINT32_RANGE)) throw new Error("bad_range");
    const limit = UINT32_RANGE - (UINT32_RANGE % n);
    for (;;) {
      const value = await this.uint32();
      if (value < limit) return value % n;
    }
  }

  async weighted(weights) {
    let remaining = await this.below(weights.reduce((sum, weight) => sum + weight, 0));
    for (let index = 0; index < weights.length; index += 1) {
      if (remaining < weights[index]) return index;
      remaining -= weights[index];
    }
    throw new Error("unreachable");
  }
}

async function slot(config, stream) {
  const reels = [];
  for (const reel of config.reels) {
    reels.push(reel[await stream.weighted(reel.map(([, weight]) => weight))][0]);
  }
  const [a, b, c] = reels;
  let multiplier = 0;
  if (a === b && b === c) multiplier = config.three_of_a_kind[a] || 0;
  else if (a === b || a === c) multiplier = config.pair[a] || 0;
  else if (b === c) multiplier = config.pair[b] || 0;
  return { outcome: { reels }, multiplier_x100: multiplier };
}

async function rps(config, stream, choice) {
  if (!RPS_CHOICES.includes(choice)) throw new Error("bad_choice");
  const opponent = RPS_CHOICES[await stream.below(3)];
  let result = "loss";
  let multiplier = 0;
  if (opponent === choice) {
    result = "draw";
    multiplier = 100;
  } else if (RPS_BEATS[choice] === opponent) {
    result = "win";
    multiplier = config.win_multiplier_x100;
  }
  return { outcome: { player: choice, opponent, result }, multiplier_x100: multiplier };
}

async function crash(config, stream) {
  const k = await stream.uint52();
  const raw = (BigInt(10000 - config.house_edge_bp) * TWO_POW_52) / (100n * (TWO_POW_52 - k));
  const capped = raw < BigInt(config.max_multiplier_x100) ? raw : BigInt(config.max_multiplier_x100);
  const crashX100 = Number(capped > 100n ? capped : 100n);
  return { outcome: { crash_x100: crashX100 }, multiplier_x100: null };
}

async function gacha(config, stream, pity, count) {
  const pulls = [];
  let current = pity;
  for (let pull = 0; pull < count; pull += 1) {
    const forced = current + 1 >= config.pity_threshold;
    const candidates = config.rarities.filter((rarity) => !forced || PITY_RARITIES.has(rarity.name));
    const rarity = candidates[await stream.weighted(candidates.map((entry) => entry.weight))];
    const reward = rarity.rewards[await stream.weighted(rarity.rewards.map((entry) => entry.weight))];
    pulls.push({ rarity: rarity.name, gold: reward.gold || 0, item: reward.item ?? null });
    current = PITY_RARITIES.has(rarity.name) ? 0 : current + 1;
  }
  return { outcome: { pulls }, multiplier_x100: null, pity_after: current };
}

// inputs: {game, serverSeedHex, clientSeed, nonce, config, choice, pity, pulls}
// → {serverSeedHash, outcome, multiplier_x100}
export async function recompute(inputs) {
  const seed = hexToBytes(inputs.serverSeedHex);
  const stream = await FairStream.open(seed, inputs.clientSeed, inputs.nonce);
  let result;
  if (inputs.game === "slot") result = await slot(inputs.config, stream);
  else if (inputs.game === "rps") result = await rps(inputs.config, stream, inputs.choice);
  else if (inputs.game === "crash") result = await crash(inputs.config, stream);
  else if (inputs.game === "gacha") result = await gacha(inputs.config, stream, inputs.pity, inputs.pulls);
  else throw new Error("bad_game");
  return { serverSeedHash: await sha256Hex(seed), ...result };
}

// Key order does not matter when two outcomes are compared.
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}
