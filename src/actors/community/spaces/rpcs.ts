export const SpaceRpcs = [] as const
