package api

// SubmissionItem is one submission as Cloudflare's GET submissions lists it
// (cloudflare-go email_security.SubmissionListResponse), plus our outcome_code,
// reason (invalid submissions) and links. Nullable fields are null when unknown,
// never "".
type SubmissionItem struct {
	SubmissionID          string  `json:"submission_id"`
	RequestedTs           string  `json:"requested_ts"` // deprecated by Cloudflare but required by the SDK
	RequestedAt           *string `json:"requested_at"`
	RequestedBy           *string `json:"requested_by"`
	Subject               *string `json:"subject"`
	OriginalPostfixID     *string `json:"original_postfix_id"`
	OriginalEdfHash       *string `json:"original_edf_hash"`
	OriginalDisposition   *string `json:"original_disposition"`
	RequestedDisposition  *string `json:"requested_disposition"`
	OutcomeDisposition    *string `json:"outcome_disposition"`
	Status                *string `json:"status"`
	Outcome               *string `json:"outcome"`
	Type                  *string `json:"type"` // "Team", "User" or (ours) "Invalid"
	CustomerStatus        *string `json:"customer_status"`
	EscalatedAs           *string `json:"escalated_as"`
	EscalatedAt           *string `json:"escalated_at"`
	EscalatedBy           *string `json:"escalated_by"`
	EscalatedSubmissionID *string `json:"escalated_submission_id"`

	// OutcomeCode is machine-readable: reclassified, already_correct,
	// campaign_reclassified, rejected_by_review, escalated, failed,
	// invalid_no_eml, invalid_wrong_type, invalid_unparseable,
	// invalid_unknown_alias, invalid_not_team, invalid_too_large,
	// invalid_no_message; null while pending.
	OutcomeCode *string `json:"outcome_code"`
	// Reason of an invalid submission: no_eml_attached, wrong_file_type,
	// unparseable_eml, unknown_alias, not_team_member, attachment_too_large,
	// no_such_message.
	Reason *string `json:"reason"`
	// EscalatedFrom is, on a team submission, the user submission it escalates.
	EscalatedFrom *string `json:"escalated_from_submission_id"`
	Channel       string  `json:"channel"` // api, upload, mail
	// CampaignReclassified counts the other messages of the campaign it changed.
	CampaignReclassified int     `json:"campaign_reclassified"`
	PolicyEntry          *string `json:"policy_entry"` // "kind/id" of the settings entry it created
	CompletedAt          *string `json:"completed_at"`
}

// SubmissionAnswer answers a reclassification or report: the submission, and
// whether it already existed (the same message and disposition submitted before).
type SubmissionAnswer struct {
	SubmissionItem
	PostfixID string `json:"postfix_id"`
	Duplicate bool   `json:"duplicate"`
}

// ReclassifyRequest is the body of POST investigate/{id}/reclassify.
type ReclassifyRequest struct {
	ExpectedDisposition   string         `json:"expected_disposition"`
	EmlContent            string         `json:"eml_content"` // base64 EML: an upload
	EscalatedSubmissionID string         `json:"escalated_submission_id"`
	Policy                *PolicyRequest `json:"policy"` // ours
}

// BulkReclassifyRequest is the body of POST investigate/reclassify (ours).
type BulkReclassifyRequest struct {
	IDs                 []string       `json:"ids"`
	ExpectedDisposition string         `json:"expected_disposition"`
	Policy              *PolicyRequest `json:"policy"`
}

// PolicyRequest asks a team submission to create an allow or block entry for
// the message's sender, with an optional expiry.
type PolicyRequest struct {
	Type        string `json:"type"`         // block_sender, acceptable_sender, trusted_sender
	PatternType string `json:"pattern_type"` // EMAIL or DOMAIN
	ExpiresAt   string `json:"expires_at"`   // RFC 3339; "" never
}

// UserSubmissionRequest is the body of POST submissions (ours): an end user's
// report of a stored message (postfix_id) or of an original (eml_content).
type UserSubmissionRequest struct {
	PostfixID            string `json:"postfix_id"`
	EmlContent           string `json:"eml_content"`
	RequestedDisposition string `json:"requested_disposition"`
}

// EscalateRequest is the body of POST submissions/{id}/escalate (ours); all optional.
type EscalateRequest struct {
	ExpectedDisposition string         `json:"expected_disposition"` // default: the reporter's
	Policy              *PolicyRequest `json:"policy"`
}
