// Node-side: the UI's messageText (backend/ui/messages.js) for the cases given as JSON in argv[2]
// ([{name, fields}]); prints the texts as one JSON array (compared with hcfl.protocol.messages by pytest).
const { messageText } = await import("../../backend/ui/messages.js");
const cases = JSON.parse(process.argv[2]);
console.log(JSON.stringify(cases.map((c) => messageText(c.name, c.fields))));
