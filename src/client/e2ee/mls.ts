// The MLS side of a DM (seed 002 §8 "MLS DM Flow") over ts-mls: a user's one leaf key, the key
// packages they publish, and a DM's group: create, add and remove members, join from a Welcome,
// encrypt and read messages. Everything that leaves the device is the TLS encoding of an MLSMessage;
// the server relays and stores those bytes without reading them.
import {
  type CiphersuiteImpl,
  type ClientState,
  createApplicationMessage,
  createCommit,
  createGroup as mlsCreateGroup,
  decodeGroupState,
  decodeMlsMessage,
  defaultAuthenticationService,
  defaultCapabilities,
  defaultKeyPackageEqualityConfig,
  defaultKeyRetentionConfig,
  defaultLifetime,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  emptyPskIndex,
  encodeGroupState,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  type KeyPackage,
  type MLSMessage,
  type PrivateKeyPackage,
  processPrivateMessage,
  zeroOutUint8Array
} from "ts-mls"
import { Effect } from "effect"
import { utf8 } from "./bytes.js"
import { MlsFailure } from "./errors.js"

/** X25519, AES-128-GCM, SHA-256, Ed25519: needs nothing beyond Node's WebCrypto. */
export const CIPHERSUITE = "MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519" as const

let suite: Promise<CiphersuiteImpl> | undefined
export const cipherSuite = Effect.promise(() => (suite ??= getCiphersuiteImpl(getCiphersuiteFromName(CIPHERSUITE))))

const clientConfig = {
  keyRetentionConfig: defaultKeyRetentionConfig,
  lifetimeConfig: defaultLifetimeConfig,
  keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
  paddingConfig: defaultPaddingConfig,
  authService: defaultAuthenticationService
}

export type GroupState = ClientState

/**
 * A user's one MLS leaf key, shared by all their devices (seed 002 §8 "Multi-Device"). Its public
 * half is the user's identity key: what key packages are signed with and safety numbers compare.
 */
export interface LeafKey {
  /** The credential identity: the user's id as text. */
  readonly identity: Uint8Array
  readonly publicKey: Uint8Array
  readonly signKey: Uint8Array
}

/** A key package as published, with the private half that joins a group from a Welcome. */
export interface KeyPackageSecret {
  readonly publicPackage: KeyPackage
  readonly privatePackage: PrivateKeyPackage
}

const mls = <A>(what: string, run: () => Promise<A>) =>
  Effect.tryPromise({
    try: run,
    catch: (cause) => new MlsFailure({ message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}` })
  })

export const identityOf = (userId: number | string) => utf8(String(userId))

export const generateLeafKey = (userId: number | string) =>
  Effect.gen(function* () {
    const cs = yield* cipherSuite
    const { publicKey, signKey } = yield* Effect.promise(() => cs.signature.keygen())
    const leaf: LeafKey = { identity: identityOf(userId), publicKey, signKey }
    return leaf
  })

export const generateKeyPackage = (leaf: LeafKey) =>
  Effect.gen(function* () {
    const cs = yield* cipherSuite
    const secret: KeyPackageSecret = yield* mls("generate key package", () =>
      generateKeyPackageWithKey(
        { credentialType: "basic", identity: leaf.identity },
        defaultCapabilities(),
        defaultLifetime,
        [],
        { signKey: leaf.signKey, publicKey: leaf.publicKey },
        cs
      ))
    return secret
  })

// --- wire bytes ---

const encode = (message: MLSMessage) => encodeMlsMessage(message)

export const encodeKeyPackage = (keyPackage: KeyPackage) =>
  encode({ keyPackage, wireformat: "mls_key_package", version: "mls10" })

const decode = (bytes: Uint8Array) =>
  Effect.suspend(() => {
    let decoded: MLSMessage | undefined
    try {
      decoded = decodeMlsMessage(bytes, 0)?.[0]
    } catch {
      decoded = undefined
    }
    return decoded === undefined
      ? Effect.fail(new MlsFailure({ message: "not an MLS message" }))
      : Effect.succeed(decoded)
  })

export const decodeKeyPackage = (bytes: Uint8Array) =>
  Effect.flatMap(decode(bytes), (m) =>
    m.wireformat === "mls_key_package"
      ? Effect.succeed(m.keyPackage)
      : Effect.fail(new MlsFailure({ message: "not a key package" })))

// --- groups ---

export const createGroup = (groupId: Uint8Array, leaf: LeafKey) =>
  Effect.gen(function* () {
    const cs = yield* cipherSuite
    const own = yield* generateKeyPackage(leaf)
    return yield* mls("create group", () =>
      mlsCreateGroup(groupId, own.publicPackage, own.privatePackage, [], cs, clientConfig))
  })

/** Adds members from their key packages: one Commit for the members there are, one Welcome for the new ones. */
export const addMembers = (state: GroupState, keyPackages: ReadonlyArray<KeyPackage>) =>
  Effect.gen(function* () {
    const cs = yield* cipherSuite
    const result = yield* mls("add members", () =>
      createCommit({ state, cipherSuite: cs }, {
        extraProposals: keyPackages.map((keyPackage) => ({ proposalType: "add" as const, add: { keyPackage } })),
        ratchetTreeExtension: true
      }))
    result.consumed.forEach(zeroOutUint8Array)
    if (result.welcome === undefined) return yield* new MlsFailure({ message: "adding members produced no Welcome" })
    return {
      state: result.newState,
      commit: encode(result.commit),
      welcome: encode({ welcome: result.welcome, wireformat: "mls_welcome", version: "mls10" })
    }
  })

/** Removes every leaf of these users: one Commit, after which they hold no key of the new epoch. */
export const removeMembers = (state: GroupState, identities: ReadonlyArray<Uint8Array>) =>
  Effect.gen(function* () {
    const cs = yield* cipherSuite
    const leaves = memberLeaves(state).filter((m) => identities.some((id) => sameBytes(id, m.identity)))
    if (leaves.length === 0) return yield* new MlsFailure({ message: "none of them is a member" })
    const result = yield* mls("remove members", () =>
      createCommit({ state, cipherSuite: cs }, {
        extraProposals: leaves.map((m) => ({ proposalType: "remove" as const, remove: { removed: m.leafIndex } }))
      }))
    result.consumed.forEach(zeroOutUint8Array)
    return { state: result.newState, commit: encode(result.commit) }
  })

/** Joins from a Welcome with whichever of our key packages it was made for. */
export const joinFromWelcome = (welcomeBytes: Uint8Array, secrets: ReadonlyArray<KeyPackageSecret>) =>
  Effect.gen(function* () {
    const cs = yield* cipherSuite
    const message = yield* decode(welcomeBytes)
    if (message.wireformat !== "mls_welcome") return yield* new MlsFailure({ message: "not a Welcome" })
    for (const secret of secrets) {
      const joined = yield* Effect.option(mls("join", () =>
        joinGroup(message.welcome, secret.publicPackage, secret.privatePackage, emptyPskIndex, cs, undefined, undefined, clientConfig)))
      if (joined._tag === "Some") return { state: joined.value, keyPackage: secret }
    }
    return yield* new MlsFailure({ message: "the Welcome is for none of our key packages" })
  })

export const encrypt = (state: GroupState, plaintext: Uint8Array) =>
  Effect.gen(function* () {
    const cs = yield* cipherSuite
    const result = yield* mls("encrypt", () => createApplicationMessage(state, plaintext, cs))
    result.consumed.forEach(zeroOutUint8Array)
    return {
      state: result.newState,
      message: encode({ privateMessage: result.privateMessage, wireformat: "mls_private_message", version: "mls10" })
    }
  })

export type Processed =
  | { readonly kind: "application"; readonly state: GroupState; readonly plaintext: Uint8Array }
  | { readonly kind: "handshake"; readonly state: GroupState }

/** Reads a message of the group: an application message's plaintext, or the state after a Commit. */
export const processMessage = (state: GroupState, bytes: Uint8Array) =>
  Effect.gen(function* () {
    const cs = yield* cipherSuite
    const message = yield* decode(bytes)
    if (message.wireformat !== "mls_private_message") return yield* new MlsFailure({ message: "not a private message" })
    const result = yield* mls("decrypt", () => processPrivateMessage(state, message.privateMessage, emptyPskIndex, cs))
    result.consumed.forEach(zeroOutUint8Array)
    const processed: Processed = result.kind === "applicationMessage"
      ? { kind: "application", state: result.newState, plaintext: result.message }
      : { kind: "handshake", state: result.newState }
    return processed
  })

// --- what a group is now ---

export const epoch = (state: GroupState) => state.groupContext.epoch

/** False once a Commit removed us. */
export const isMember = (state: GroupState) => state.groupActiveState.kind === "active"

export interface Member {
  readonly leafIndex: number
  readonly identity: Uint8Array
  readonly publicKey: Uint8Array
}

export const memberLeaves = (state: GroupState): ReadonlyArray<Member> =>
  state.ratchetTree.flatMap((node, nodeIndex) =>
    node?.nodeType === "leaf" && node.leaf.credential.credentialType === "basic"
      ? [{ leafIndex: nodeIndex / 2, identity: node.leaf.credential.identity, publicKey: node.leaf.signaturePublicKey }]
      : [])

export const encodeState = (state: GroupState) => encodeGroupState(state)

export const decodeState = (bytes: Uint8Array) =>
  Effect.suspend(() => {
    let decoded: ReturnType<typeof decodeGroupState>
    try {
      decoded = decodeGroupState(bytes, 0)
    } catch {
      decoded = undefined
    }
    return decoded === undefined
      ? Effect.fail(new MlsFailure({ message: "not a group state" }))
      : Effect.succeed<GroupState>({ ...decoded[0], clientConfig })
  })

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])
