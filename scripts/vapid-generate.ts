/**
 * `npm run vapid:generate`: a new VAPID key pair for Web Push, printed as the two lines to put in the
 * environment. The public key is what browsers subscribe with (GET /push/vapid-public-key serves it); changing
 * the pair later invalidates every existing subscription.
 */
import webpush from "web-push";

const { publicKey, privateKey } = webpush.generateVAPIDKeys();
process.stdout.write(`NEXT_PUBLIC_VAPID_PUBLIC_KEY=${publicKey}\nVAPID_PRIVATE_KEY=${privateKey}\n`);
