export { createCrewExecutor, type CrewResult } from "./crew.js";
export type { CrewStep, CrewTaskOutcome } from "./recorder.js";
export { crewInputSchema, type CrewAgent, type CrewInputs, type CrewTaskSpec } from "./schema.js";
