// Node-side: the UI's phaseEnd (backend/ui/store.js, from the generated PHASE_DEADLINES) for the cases given as JSON in
// argv[2] ([{data, cfg, phase}]); prints the deadlines as one JSON array (compared with the coordinator's by pytest).
const { phaseEnd } = await import("../../backend/ui/store.js");
const cases = JSON.parse(process.argv[2]);
console.log(JSON.stringify(cases.map((c) => phaseEnd(c.data, c.cfg, c.phase))));
