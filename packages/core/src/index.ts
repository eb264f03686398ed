export * from "./types.js";
export * from "./errors.js";
export * from "./logger.js";
export * from "./task/status.js";
export * from "./task/schemas.js";
export * from "./schema/schema.js";
export * from "./store/types.js";
export { MemoryStore } from "./store/memory-store.js";
export * from "./queue/types.js";
export * from "./task/waiting.js";
export * from "./task/waiting-read.js";
export { planRunSet } from "./store/run-set.js";
export { validatePatch } from "./store/patch.js";
/** The store rulebook (decisions every `TaskStore` shares): see `store/rules.ts`. */
export * as storeRules from "./store/rules.js";
export * from "./registry/types.js";
export { Registry, defaultRegistry, DuplicateRegistrationError, type RegistryOptions } from "./registry/registry.js";
export { defineExecutor, definePlugin, executor, loadPlugin, type ExecutorClass } from "./registry/define.js";
export { storeScheme, isTaskStore } from "./registry/stores.js";
export { validateTasks, type ValidateOptions, type ExecutorLookup } from "./tree/validate.js";
export { executorIdOf } from "./tree/executor-id.js";
export {
  copyTask,
  type CopyOptions,
  type ResettableField,
  RESETTABLE_FIELDS,
  DEFAULT_RESET_FIELDS,
} from "./tree/copy.js";
export {
  Engine,
  type EngineOptions,
  type CreateOptions,
  type ExecuteOptions,
  type ExecutionHandle,
  type IdempotencyKeyOptions,
  type SubmittedTree,
} from "./engine/engine.js";
export * from "./idempotency/index.js";
export * from "./a2a-state/index.js";
export * from "./nodes/index.js";
export * from "./limits/index.js";
export * from "./placement/index.js";
export { type EventBus, type EventListener, LocalEventBus } from "./engine/event-bus.js";
export { subscribeEvents, type SubscribeQuery } from "./engine/subscription.js";
export { mergeDependencyResults } from "./engine/merge.js";
export { planRetry, backoffDelay, type RetryDecision } from "./engine/retry.js";
export { aggregateResults } from "./executors/aggregate.js";
export { approval, approvalAnswerSchema, type ApprovalResult } from "./executors/approval.js";
export {
  checkAnswer,
  mayAnswer,
  notWaitingError,
  openWait,
  parseWaitSpec,
  type ResumeState,
  resumeStateOf,
  WaitRequest,
} from "./task/wait.js";
export { registerBuiltins } from "./executors/builtins.js";
export {
  type ScheduleTrigger,
  type ScheduleTiming,
  type CatchUp,
  type DueFirings,
  type DueOptions,
  scheduleTriggerSchema,
  scheduleTimingSchema,
  parseScheduleTiming,
  nextFireAfter,
  dueFirings,
} from "./schedule/trigger.js";
export {
  OUTBOUND_REFUSED,
  OutboundPolicy,
  OutboundRefused,
  effectivePort,
  hostAllowed,
  isForbiddenHeader,
  isInternalAddress,
  parseAllowEntry,
  parseHostList,
  pinnedLookup,
  type AllowEntry,
  type OutboundPolicyOptions,
  type ResolvedAddress,
  type Resolver,
} from "./net/outbound.js";
export {
  KNOWN_SETTINGS,
  closestSetting,
  describeUnknownSetting,
  findUnknownSettings,
  type UnknownSetting,
} from "./util/settings.js";
export {
  type Schedule,
  type ScheduleRun,
  type ScheduleRunState,
  type ScheduleStore,
  type ScheduleQuery,
  type SchedulePatch,
  type NewSchedule,
  type RecordFiring,
  type Overlap,
  type WithSchedules,
  schedulesOf,
} from "./schedule/store-types.js";
export { MemoryScheduleStore } from "./schedule/memory-schedule-store.js";
export {
  type ScheduleInput,
  type ScheduleUpdate,
  type ScheduleView,
  type ScheduleRunView,
  type FiringLink,
  scheduleInputSchema,
  scheduleUpdateSchema,
  parseScheduleInput,
  parseScheduleUpdate,
  nextFireOf,
  firingTaskId,
} from "./schedule/schedules.js";
export { Scheduler, type SchedulerOptions, type Fired, type TickReport } from "./schedule/scheduler.js";
