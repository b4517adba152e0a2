// What a fresh community starts with (the @everyone default lives with the permission bits).
export const ADMIN_ROLE_NAME = "Admin"
