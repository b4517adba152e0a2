export const InviteRpcs = [] as const
