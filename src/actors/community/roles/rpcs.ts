export const RoleRpcs = [] as const
