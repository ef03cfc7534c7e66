// The texts participants sign (EIP-191 personal_sign), filled from the templates generated from
// hcfl.protocol.messages (backend/ui/generated/protocol.js): the same normalisation as the Python side
// (addresses checksummed, hashes lower-case 0x-hex, integers in decimal). Never spell a message by hand.
import { getAddress } from "ethers";
import { MESSAGES } from "./generated/protocol.js";

export function messageText(name, fields) {
  const template = MESSAGES.templates[name];
  if (template === undefined) throw new Error(`unknown message ${name}`);
  return template.replace(/\{(\w+)\}/g, (_, f) => {
    const v = fields[f];
    if (v === undefined || v === null) throw new Error(`message ${name}: missing ${f}`);
    if (MESSAGES.address_fields.includes(f)) return getAddress(String(v));
    if (MESSAGES.hex_fields.includes(f)) {
      const t = String(v).toLowerCase();
      return t.startsWith("0x") ? t : `0x${t}`;
    }
    return BigInt(v).toString();
  });
}
