package detect

import "github.com/mailwarden/mailwarden/internal/bayes"

// TrainingClass maps a disposition to the content model's class when a
// message is learnt or reclassified:
//
//	MALICIOUS, SUSPICIOUS, SPOOF -> phish (fraud and impersonation language)
//	SPAM                         -> spam
//	BULK, NONE                   -> ham (graymail is wanted mail: it is BULK by
//	                                its headers, not by its words)
//
// An unknown disposition gives bayes.Untrained (do not train).
func TrainingClass(d Disposition) bayes.Class {
	switch d {
	case Malicious, Suspicious, Spoof:
		return bayes.Phish
	case Spam:
		return bayes.Spam
	case Bulk, None:
		return bayes.Ham
	}
	return bayes.Untrained
}
