// A user's presence over REST (reference API.md §6 "Get User Presence"): the same view the gateway's
// PRESENCE_UPDATE carries, so a client that was away can ask instead of waiting for the next change.
// Presence is shared among the community's members, so asking takes membership (as the gateway
// delivers PRESENCE_UPDATE to members only).
import { Schema } from "effect"
import { endpoint } from "../endpoint.js"
import { Presence } from "../gateway.js"
import { idFromString, UserId } from "../ids.js"

export const getUserPresence = endpoint({
  name: "getUserPresence",
  method: "GET",
  path: "/api/v1/users/:user_id/presence",
  access: "member",
  params: Schema.Struct({ user_id: idFromString(UserId) }),
  success: Presence
})
