export const LimitRpcs = [] as const
