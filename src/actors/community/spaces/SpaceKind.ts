// What tells a feed from a room. Their storage, checks, events and audit entries are one piece of
// code driven by these descriptors, so a rule about spaces is written once and holds for both.
import { type Effect, type ParseResult, Schema } from "effect"
import {
  Feed,
  FeedCreate,
  FeedPatch,
  FeedType,
  type PermissionOverride,
  Room,
  RoomCreate,
  RoomPatch,
  RoomType,
  type SpaceType
} from "../../../protocol/api/spaces.js"
import * as Ev from "../../../protocol/events.js"
import type { EventDef } from "../../../protocol/events.js"
import { CategoryId, FeedId, RoomId } from "../../../protocol/ids.js"
import { BoolColumn, decodeRows, IntColumn } from "../../../runtime/db/columns.js"

/** The protocol's schemas of each kind: the space, its create and patch bodies, and its delete event. */
interface Schemas {
  readonly feed: {
    readonly space: typeof Feed
    readonly create: typeof FeedCreate
    readonly patch: typeof FeedPatch
    readonly ref: typeof Ev.FeedDelete.schema
  }
  readonly room: {
    readonly space: typeof Room
    readonly create: typeof RoomCreate
    readonly patch: typeof RoomPatch
    readonly ref: typeof Ev.RoomDelete.schema
  }
}

export type SpaceOf<T extends SpaceType> = Schemas[T]["space"]["Type"]
export type CreateOf<T extends SpaceType> = Schemas[T]["create"]["Type"]
export type PatchOf<T extends SpaceType> = Schemas[T]["patch"]["Type"]
/** `{ feed_id }` / `{ room_id }`: what names a space in its delete event and audit entries. */
export type RefOf<T extends SpaceType> = Schemas[T]["ref"]["Type"]
/** A space as its table holds it, its columns already named as on the wire. */
export type StoredOf<T extends SpaceType> = Omit<SpaceOf<T>, "permission_overrides">

// Spelled with the wire's encoded side too: a schema is invariant in it, and an exact type lets
// `tx.emit` check the data of a kind's events in code that serves every kind.
type EventOf<K extends keyof Schemas[SpaceType], T extends SpaceType> = EventDef<
  string,
  Schema.Schema<Schemas[T][K]["Type"], Schemas[T][K]["Encoded"]>
>

export type Columns = Record<string, string | number | null>

export interface SpaceKind<T extends SpaceType> {
  readonly type: T
  /** Also the plural in messages. */
  readonly table: "feeds" | "rooms"
  /** The capitalized name in messages. */
  readonly noun: "Feed" | "Room"
  readonly limit: "max_feeds" | "max_rooms"
  /** The SELECT list, aliased to the wire's names so a row needs no renaming. */
  readonly columns: string
  readonly decode: (rows: unknown) => Effect.Effect<ReadonlyArray<StoredOf<T>>, ParseResult.ParseError>
  readonly toWire: (row: StoredOf<T>, overrides: ReadonlyArray<PermissionOverride>) => SpaceOf<T>
  readonly idOf: (space: StoredOf<T>) => number
  readonly ref: (space: StoredOf<T>) => RefOf<T>
  /** The kind's own columns of a new space, its defaults filled in. */
  readonly insertColumns: (input: CreateOf<T>) => Columns
  /** The kind's own columns a patch changes. */
  readonly patchColumns: (patch: PatchOf<T>) => Columns
  readonly created: EventOf<"space", T>
  readonly updated: EventOf<"space", T>
  readonly deleted: EventOf<"ref", T>
}

const ParentColumn = Schema.NullOr(Schema.compose(IntColumn, CategoryId))

const FeedRow = Schema.Struct({
  feed_id: Schema.compose(IntColumn, FeedId),
  name: Schema.String,
  type: FeedType,
  category_id: ParentColumn,
  position: IntColumn,
  topic: Schema.NullOr(Schema.String),
  nsfw: BoolColumn,
  slowmode_seconds: IntColumn
})

const RoomRow = Schema.Struct({
  room_id: Schema.compose(IntColumn, RoomId),
  name: Schema.String,
  type: RoomType,
  category_id: ParentColumn,
  position: IntColumn,
  user_limit: IntColumn,
  bitrate: IntColumn
})

const withOverrides = <R>(row: R, permission_overrides: ReadonlyArray<PermissionOverride>) => ({
  ...row,
  permission_overrides
})

const bit = (flag: boolean) => (flag ? 1 : 0)

/** The entries of `columns` that a patch sets (absent ones are left as they are; null is a value). */
const given = (columns: Record<string, string | number | null | undefined>): Columns =>
  Object.fromEntries(
    Object.entries(columns).filter((entry): entry is [string, string | number | null] => entry[1] !== undefined)
  )

export const Feeds: SpaceKind<"feed"> = {
  type: "feed",
  table: "feeds",
  noun: "Feed",
  limit: "max_feeds",
  columns: "id AS feed_id, name, type, category_id, position, topic, nsfw, slowmode_seconds",
  decode: decodeRows(FeedRow),
  toWire: withOverrides,
  idOf: (feed) => feed.feed_id,
  ref: (feed) => ({ feed_id: feed.feed_id }),
  insertColumns: (input) => ({
    topic: input.topic ?? null,
    nsfw: bit(input.nsfw ?? false),
    slowmode_seconds: input.slowmode_seconds ?? 0
  }),
  patchColumns: (patch) =>
    given({
      topic: patch.topic,
      nsfw: patch.nsfw === undefined ? undefined : bit(patch.nsfw),
      slowmode_seconds: patch.slowmode_seconds
    }),
  created: Ev.FeedCreate,
  updated: Ev.FeedUpdate,
  deleted: Ev.FeedDelete
}

export const Rooms: SpaceKind<"room"> = {
  type: "room",
  table: "rooms",
  noun: "Room",
  limit: "max_rooms",
  columns: "id AS room_id, name, type, category_id, position, user_limit, bitrate",
  decode: decodeRows(RoomRow),
  toWire: withOverrides,
  idOf: (room) => room.room_id,
  ref: (room) => ({ room_id: room.room_id }),
  insertColumns: (input) => ({ user_limit: input.user_limit ?? 0, bitrate: input.bitrate ?? 64_000 }),
  patchColumns: (patch) => given({ user_limit: patch.user_limit, bitrate: patch.bitrate }),
  created: Ev.RoomCreate,
  updated: Ev.RoomUpdate,
  deleted: Ev.RoomDelete
}
