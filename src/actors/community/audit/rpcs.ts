export const AuditRpcs = [] as const
