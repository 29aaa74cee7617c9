// Package alerts forwards detections to operators' webhooks: ticketing, a
// firewall that blocks a source address, a chat channel.
//
// Each [Sink] gets the detections at or above its minimum severity as a
// JSON body (an [Alert]: never sample log lines) POSTed with
//
//	X-Hisoka-Timestamp  Unix seconds of the attempt
//	X-Hisoka-Delivery   the detection id (the same across retries and
//	                    restarts: receivers deduplicate on it)
//	X-Hisoka-Signature  sha256=hex(HMAC-SHA256(secret, timestamp "." body))
//
// A 2xx answer delivers; anything else (or no answer within the timeout) is
// retried with exponential backoff up to MaxAttempts, after which the alert
// goes to the dead-letter function with the reason. Each sink has a
// bounded queue; when it is full the alert is dead-lettered at once rather
// than block the pipeline. [Dispatcher.Close] stops the workers, dead-
// lettering what is still queued.
package alerts
