export const MemberRpcs = [] as const
