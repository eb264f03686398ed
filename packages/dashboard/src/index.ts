export {
  createDashboard,
  withDashboard,
  contentSecurityPolicy,
  normaliseBasePath,
  DashboardAssetsError,
  type DashboardOptions,
  type FetchHandler,
} from "./handler.js";
export { createApiProxy } from "./proxy.js";
