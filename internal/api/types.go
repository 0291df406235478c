// Package api serves mailwarden's JSON API under /client/v4/accounts/{account_id}/
// email-security/, in the shapes of Cloudflare's Email Security API so scripts and
// the official SDK written for it work unchanged (see ../shared/CLOUDFLARE-API.md).
// Types are here; handlers in handlers.go.
package api

// Envelope is Cloudflare's response wrapper.
type Envelope struct {
	Success    bool        `json:"success"`
	Errors     []Message   `json:"errors"`
	Messages   []Message   `json:"messages"`
	Result     any         `json:"result"`
	ResultInfo *ResultInfo `json:"result_info,omitempty"`
}

// Message is one entry of errors or messages.
type Message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	// Source names the offending input (our addition, as in Cloudflare's v4 errors).
	Source *Source `json:"source,omitempty"`
}

// Source points at the field of a request that was rejected.
type Source struct {
	Pointer string `json:"pointer"`
}

// ResultInfo is Cloudflare's paging block.
type ResultInfo struct {
	Page       int    `json:"page"`
	PerPage    int    `json:"per_page"`
	Count      int    `json:"count"`
	TotalCount int    `json:"total_count"`
	Cursor     string `json:"cursor,omitempty"` // next cursor for cursor paging; "" at the end
	// TotalCountCapped says total_count stopped counting at 10,000 (our addition).
	TotalCountCapped bool `json:"total_count_capped,omitempty"`
}

// Validation is Cloudflare's authentication summary: pass|neutral|fail|error|none.
type Validation struct {
	SPF     string  `json:"spf"`
	DKIM    string  `json:"dkim"`
	DMARC   string  `json:"dmarc"`
	Comment *string `json:"comment"`
}

// ThreatCategory is one category of a detection.
type ThreatCategory struct {
	ID          int    `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// ActionLogEntry is one operation on a message.
type ActionLogEntry struct {
	CompletedAt *string           `json:"completed_at"`
	CreatedAt   string            `json:"created_at"`
	Operation   string            `json:"operation"`
	Status      string            `json:"status"`
	Properties  map[string]string `json:"properties"`
}

// Item is a message in investigate answers.
type Item struct {
	ID                     string           `json:"id"`
	PostfixID              string           `json:"postfix_id"`
	Ts                     string           `json:"ts"`
	ActionLog              []ActionLogEntry `json:"action_log"`
	ClientRecipients       []string         `json:"client_recipients"`
	DetectionReasons       []string         `json:"detection_reasons"`
	IsPhishSubmission      bool             `json:"is_phish_submission"`
	IsQuarantined          bool             `json:"is_quarantined"`
	Properties             map[string]any   `json:"properties"`
	MessageID              *string          `json:"message_id"`
	AlertID                *string          `json:"alert_id"`
	Subject                *string          `json:"subject"`
	From                   *string          `json:"from"`
	FromName               *string          `json:"from_name"`
	To                     []string         `json:"to"`
	ToName                 []string         `json:"to_name"`
	ReplyTo                *string          `json:"replyto"`
	EnvelopeFrom           *string          `json:"envelope_from"`
	EnvelopeTo             []string         `json:"envelope_to"`
	FinalDisposition       *string          `json:"final_disposition"`
	ThreatCategories       []string         `json:"threat_categories"`
	Validation             Validation       `json:"validation"`
	DeliveryMode           *string          `json:"delivery_mode"`
	DeliveryStatus         []string         `json:"delivery_status"`
	PostDeliveryOperations []string         `json:"post_delivery_operations"`
	ScannedAt              *string          `json:"scanned_at"`
	SentAt                 *string          `json:"sent_at"`
	SentDate               *string          `json:"sent_date"`
	SMTPHeloServerIP       *string          `json:"smtp_helo_server_ip"`
	SMTPPreviousHopIP      *string          `json:"smtp_previous_hop_ip"`
	XOriginatingIP         *string          `json:"x_originating_ip"`
	EdfHash                *string          `json:"edf_hash"`
	HTMLTextStructureHash  *string          `json:"htmltext_structure_hash"`
}

// Finding is one trigger in the detections answer.
type Finding struct {
	Name       string  `json:"name"`
	Detail     string  `json:"detail"`
	Detection  *string `json:"detection"`
	Field      *string `json:"field"`
	Portion    *string `json:"portion"`
	Reason     string  `json:"reason"`
	Score      float64 `json:"score"`
	Value      *string `json:"value"`
	Attachment *string `json:"attachment"`
	Category   string  `json:"category,omitempty"`
}

// Link is one URL of a message.
type Link struct {
	Href string  `json:"href"`
	Text *string `json:"text"`
}

// Attachment in the detections answer.
type Attachment struct {
	Size        int64   `json:"size"`
	ContentType *string `json:"content_type"`
	Detection   *string `json:"detection"`
	Encrypted   *bool   `json:"encrypted"`
	Name        *string `json:"name"`
	MD5         string  `json:"md5"`
	SHA1        string  `json:"sha1"`
	SHA256      string  `json:"sha256"`
	SniffedType string  `json:"sniffed_type"`
}

// Header is one header of a message.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// SenderInfo describes the connecting client.
type SenderInfo struct {
	ASName   *string `json:"as_name"`
	ASNumber *int    `json:"as_number"`
	Geo      *string `json:"geo"`
	IP       *string `json:"ip"`
	PLD      *string `json:"pld"`
}

// Detections is the answer of investigate/{id}/detections.
type Detections struct {
	Action           string           `json:"action"`
	Attachments      []Attachment     `json:"attachments"`
	Findings         []Finding        `json:"findings"`
	Headers          []Header         `json:"headers"`
	Links            []Link           `json:"links"`
	SenderInfo       SenderInfo       `json:"sender_info"`
	ThreatCategories []ThreatCategory `json:"threat_categories"`
	Validation       Validation       `json:"validation"`
	FinalDisposition *string          `json:"final_disposition"`
	// Auth is our detailed authentication object (domains, selectors, policy, alignment).
	Auth any `json:"auth"`
}

// TraceLine is one line of a trace.
type TraceLine struct {
	Lineno   int    `json:"lineno"`
	LoggedAt string `json:"logged_at"`
	Ts       string `json:"ts"`
	Message  string `json:"message"`
}

// TraceSide is inbound or outbound.
type TraceSide struct {
	Lines   []TraceLine `json:"lines"`
	Pending bool        `json:"pending"`
}

// Trace is the answer of investigate/{id}/trace.
type Trace struct {
	Inbound  TraceSide `json:"inbound"`
	Outbound TraceSide `json:"outbound"`
}

// ReleaseResult is one entry of a release answer.
type ReleaseResult struct {
	ID          string   `json:"id"`
	PostfixID   string   `json:"postfix_id"`
	Delivered   []string `json:"delivered"`
	Failed      []string `json:"failed"`
	Undelivered []string `json:"undelivered"`
}
