package message

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/jhillyerd/enmime/v2"
)

const maxHTMLAttachment = 2 << 20 // HTML attachments larger than this are not read for links

// attachment records a non-body leaf part; an attached message is parsed in turn.
func (w *walker) attachment(pt *enmime.Part, ct string, depth int) {
	p := w.p
	data, _ := p.decodePart(pt)
	a := Attachment{
		Name:        pt.FileName,
		ContentType: ct,
		SniffedType: sniff(data),
		Size:        int64(len(data)),
		Data:        data,
	}
	md := md5.Sum(data)
	s1 := sha1.Sum(data)
	s2 := sha256.Sum256(data)
	a.MD5, a.SHA1, a.SHA256 = hex.EncodeToString(md[:]), hex.EncodeToString(s1[:]), hex.EncodeToString(s2[:])
	p.m.Attachments = append(p.m.Attachments, a)

	switch {
	case ct == "message/rfc822" || ct == "message/global":
		if depth+1 > p.lim.MaxDepth {
			p.tooDeepProblem()
			return
		}
		p.entity(data, depth+1, false)
	case (ct == "text/html" || strings.HasSuffix(strings.ToLower(a.Name), ".html") ||
		strings.HasSuffix(strings.ToLower(a.Name), ".htm")) && len(data) <= maxHTMLAttachment:
		p.readHTML(p.toUTF8(data, false, pt.Charset, "HTML attachment"), "attachment") // data is kept: copied
	}
}

// sniff names the type of data from its first bytes: net/http.DetectContentType
// (WHATWG MIME sniffing) plus executables, archives, disk images and Office
// containers that matter for malware detection.
func sniff(data []byte) string {
	has := func(off int, magic string) bool {
		return len(data) >= off+len(magic) && string(data[off:off+len(magic)]) == magic
	}
	switch {
	case has(0, "MZ"):
		return "application/vnd.microsoft.portable-executable"
	case has(0, "\x7fELF"):
		return "application/x-elf"
	case has(0, "\xfe\xed\xfa\xce"), has(0, "\xfe\xed\xfa\xcf"), has(0, "\xce\xfa\xed\xfe"), has(0, "\xcf\xfa\xed\xfe"):
		return "application/x-mach-binary"
	case has(0, "\xca\xfe\xba\xbe") && len(data) >= 8 && binary.BigEndian.Uint32(data[4:8]) < 45:
		return "application/x-mach-binary" // universal binary (a Java class has a version >= 45 here)
	case has(0, "PK\x03\x04"), has(0, "PK\x05\x06"):
		return sniffZip(data)
	case has(0, "Rar!\x1a\x07"):
		return "application/vnd.rar"
	case has(0, "7z\xbc\xaf\x27\x1c"):
		return "application/x-7z-compressed"
	case has(0, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
		if bytes.Contains(data, []byte("_\x00V\x00B\x00A\x00_\x00P\x00R\x00O\x00J\x00E\x00C\x00T\x00")) {
			return "application/x-ole-storage; macros=yes"
		}
		return "application/x-ole-storage"
	case has(0x8001, "CD001"), has(0x8801, "CD001"), has(0x9001, "CD001"):
		return "application/x-iso9660-image"
	case has(0x8001, "BEA01"), has(0x8001, "NSR02"), has(0x8001, "NSR03"):
		return "application/x-udf-image"
	case has(0, "conectix"):
		return "application/x-vhd"
	case has(0, "L\x00\x00\x00\x01\x14\x02\x00"):
		return "application/x-ms-shortcut"
	case len(data) >= 512 && data[510] == 0x55 && data[511] == 0xAA && (has(0x36, "FAT") || has(0x52, "FAT32") || has(3, "NTFS")):
		return "application/x-raw-disk-image"
	}
	return http.DetectContentType(data)
}

// sniffZip tells Office Open XML (and its macro-enabled variants: a
// vbaProject.bin member) and Java archives from plain ZIP. Member names are
// stored uncompressed, so a byte search suffices.
func sniffZip(data []byte) string {
	if !bytes.Contains(data, []byte("[Content_Types].xml")) {
		if bytes.Contains(data, []byte("META-INF/MANIFEST.MF")) {
			return "application/java-archive"
		}
		return "application/zip"
	}
	macro := bytes.Contains(data, []byte("vbaProject.bin"))
	switch {
	case bytes.Contains(data, []byte("word/")):
		if macro {
			return "application/vnd.ms-word.document.macroEnabled.12"
		}
		return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	case bytes.Contains(data, []byte("xl/")):
		if macro {
			return "application/vnd.ms-excel.sheet.macroEnabled.12"
		}
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case bytes.Contains(data, []byte("ppt/")):
		if macro {
			return "application/vnd.ms-powerpoint.presentation.macroEnabled.12"
		}
		return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
	}
	if macro {
		return "application/vnd.ms-office.vbaProject"
	}
	return "application/zip"
}
