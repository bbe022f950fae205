// Command tarlist is the differential witness of test/engine/layers/differential.test.ts
// (RELIABILITY.md 58): it reads tar layers with Go's archive/tar — the reader containerd, moby,
// CRI-O and umoci use — and applies each one onto an empty root the way containerd's applier does
// (containerd pkg/archive/tar.go: applyNaive, createTarFile, mkparent, hardlinkRootPath,
// validateWhiteout; continuity fs.RootPath), in memory: nothing touches the disk.
//
// Protocol (one long-lived process, many cases): stdin carries frames of a 4-byte big-endian
// length followed by that many bytes of tar; for each frame stdout carries a 4-byte big-endian
// length followed by the answer: either "refused: <reason>\n", or one line per path of the
// resulting tree, sorted, tab-separated:
//
//	path  type  mode  uid  gid  size  link  sha256
//
// Names that are not printable ASCII are printed as "hex:" and their bytes. type is
// file|dir|symlink|char|block|fifo; mode is the permission bits with setuid/setgid/sticky
// (octal, "-" for symlinks, whose mode Linux ignores); size and sha256 are the content's (files
// only, else 0 and "-"); link is a symlink's target ("-" otherwise). A hardlink is the inode it
// shares: the same type, content, mode and owner as its target (chmod/chown through either name
// changes both, as on disk).
//
// Where this model deliberately differs from containerd (each one can only make containerd's
// tree SMALLER than the scanner's, never hide content from the scanner):
//   - pax global headers (typeflag g): Go returns them as a header of their own and containerd
//     ignores them in createTarFile — but applyNaive first removes whatever exists at the g
//     header's name and creates its parent directories. Real writers name it pax_global_header (git
//     archive) or ././@PaxHeader; the witness skips g headers entirely.
//   - whiteouts (.wh.<name>) and opaque markers (.wh..wh..opq) are applied only to lower layers,
//     as the OCI image-spec layer.md requires ("Files that are present in the same changeset as a
//     whiteout file MUST only be hidden by whiteout files in a future changeset"); containerd's
//     naive applier also removes earlier members of the same layer (and an opaque marker removes
//     the directories mkparent created for this layer). On an empty root the witness therefore
//     applies neither.
//   - extended attributes (SCHILY.xattr.*) are not modelled (containerd ignores ENOTSUP).
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type inode struct {
	typ  string
	mode int64
	uid  int
	gid  int
	data []byte
	link string
}

type fsys struct {
	m map[string]*inode
}

var (
	errNotDir    = errors.New("not a directory")
	errNotExist  = errors.New("no such file or directory")
	errIsDir     = errors.New("operation not permitted (hard link to a directory)")
	errManyLinks = errors.New("too many links")
)

func join(dir, name string) string { return filepath.Join(dir, name) }

// removeAll is os.RemoveAll: the path and everything beneath it.
func (f *fsys) removeAll(p string) {
	if p == "/" {
		return
	}
	delete(f.m, p)
	prefix := p + "/"
	for k := range f.m {
		if strings.HasPrefix(k, prefix) {
			delete(f.m, k)
		}
	}
}

// lstat fails with ENOTDIR when a parent component is not a directory, like the kernel.
func (f *fsys) lstat(p string) (*inode, error) {
	if p == "/" {
		return f.m["/"], nil
	}
	parent := filepath.Dir(p)
	if pn, err := f.lstat(parent); err != nil {
		return nil, err
	} else if pn == nil {
		return nil, nil
	} else if pn.typ != "dir" {
		return nil, errNotDir
	}
	return f.m[p], nil
}

// rootPath is continuity's fs.RootPath: p resolved inside the root, following every symlink
// (absolute targets restart at the root, ".." is clamped at it), at most 255 links; a missing
// component ends the resolution lexically; a non-directory in the middle is ENOTDIR.
func (f *fsys) rootPath(p string) (string, error) {
	stack := strings.Split(p, "/")
	cur := "/"
	links := 0
	for len(stack) > 0 {
		c := stack[0]
		stack = stack[1:]
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			cur = filepath.Dir(cur)
			continue
		}
		cand := join(cur, c)
		n, err := f.lstat(cand)
		if err != nil {
			return "", err
		}
		if n != nil && n.typ == "symlink" {
			links++
			if links > 255 {
				return "", errManyLinks
			}
			if strings.HasPrefix(n.link, "/") {
				cur = "/"
			}
			stack = append(strings.Split(n.link, "/"), stack...)
			continue
		}
		cur = cand
	}
	return cur, nil
}

// mkparent: an existing path must be a directory; missing ones are created 0755, root-owned.
func (f *fsys) mkparent(p string) error {
	n, err := f.lstat(p)
	if err != nil {
		return err
	}
	if n != nil {
		if n.typ == "dir" {
			return nil
		}
		return fmt.Errorf("mkparent %s: %w", p, errNotDir)
	}
	if parent := filepath.Dir(p); parent != "/" {
		if err := f.mkparent(parent); err != nil {
			return err
		}
	}
	f.m[p] = &inode{typ: "dir", mode: 0o755}
	return nil
}

func apply(r io.Reader) (*fsys, error) {
	f := &fsys{m: map[string]*inode{"/": {typ: "dir", mode: 0o755}}}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("next: %w", err)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // see the package comment
		}
		name := filepath.Clean(hdr.Name)
		ppath, base := filepath.Split(name)
		rp, err := f.rootPath(ppath)
		if err != nil {
			return nil, fmt.Errorf("root path %q: %w", ppath, err)
		}
		path := join(rp, join("/", base))
		if path == "/" {
			continue // containerd: "file ignored: resolved to root"
		}
		if rp != "/" {
			if err := f.mkparent(rp); err != nil {
				return nil, err
			}
		}
		b := filepath.Base(path)
		d := filepath.Dir(path)
		if b == ".wh..wh..opq" {
			continue // lower layers only (see the package comment); the directory exists (mkparent)
		}
		if strings.HasPrefix(b, ".wh.") {
			// containerd checks against the real root directory (no trailing slash), so a whiteout of
			// "." or ".." is invalid at the top level too: check beneath a stand-in root.
			dd := filepath.Join("/root", d)
			orig := filepath.Join(dd, b[len(".wh."):])
			if !strings.HasPrefix(orig, dd+"/") {
				return nil, fmt.Errorf("invalid whiteout name: %v", b)
			}
			continue // lower layers only
		}
		if n, _ := f.lstat(path); n != nil && !(n.typ == "dir" && hdr.Typeflag == tar.TypeDir) {
			f.removeAll(path)
		}
		if err := f.create(path, hdr, tr); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (f *fsys) create(path string, hdr *tar.Header, r io.Reader) error {
	var n *inode
	switch hdr.Typeflag {
	case tar.TypeDir:
		n = f.m[path]
		if n == nil || n.typ != "dir" {
			n = &inode{typ: "dir"}
			f.m[path] = n
		}
	case tar.TypeReg, tar.TypeRegA:
		data, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("copy %s: %w", path, err)
		}
		if int64(len(data)) != hdr.Size {
			return fmt.Errorf("file %s incomplete: expect %d bytes wrote %d", path, hdr.Size, len(data))
		}
		n = &inode{typ: "file", data: data}
		f.m[path] = n
	case tar.TypeBlock, tar.TypeChar, tar.TypeFifo:
		if hdr.Devmajor < 0 || hdr.Devmajor > 0xffffffff || hdr.Devminor < 0 || hdr.Devminor > 0xffffffff {
			return fmt.Errorf("device number %d:%d out of range", hdr.Devmajor, hdr.Devminor)
		}
		typ := map[byte]string{tar.TypeBlock: "block", tar.TypeChar: "char", tar.TypeFifo: "fifo"}[hdr.Typeflag]
		n = &inode{typ: typ}
		f.m[path] = n
	case tar.TypeLink:
		lp, lb := filepath.Split(hdr.Linkname)
		rp, err := f.rootPath(lp)
		if err != nil {
			return fmt.Errorf("hardlink root path: %w", err)
		}
		target := join(rp, lb)
		t, err := f.lstat(target)
		if err != nil {
			return fmt.Errorf("link %s: %w", target, err)
		}
		if t == nil {
			return fmt.Errorf("link %s: %w", target, errNotExist)
		}
		if t.typ == "dir" {
			return fmt.Errorf("link %s: %w", target, errIsDir)
		}
		n = t
		f.m[path] = n
	case tar.TypeSymlink:
		if hdr.Linkname == "" {
			return fmt.Errorf("symlink %s: empty target: %w", path, errNotExist)
		}
		n = &inode{typ: "symlink", link: hdr.Linkname}
		f.m[path] = n
	default:
		return fmt.Errorf("unhandled tar header type %d", hdr.Typeflag)
	}
	n.uid, n.gid = hdr.Uid, hdr.Gid
	if n.typ != "symlink" {
		n.mode = hdr.Mode & 0o7777
	}
	return nil
}

// show prints a name as is when it is printable ASCII without tabs, else as hex of its bytes, so
// that names which are not UTF-8 compare byte for byte.
func show(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return "hex:" + hex.EncodeToString([]byte(s))
		}
	}
	return s
}

func list(f *fsys) string {
	paths := make([]string, 0, len(f.m))
	for p := range f.m {
		if p != "/" {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		n := f.m[p]
		mode, link, sum := fmt.Sprintf("%04o", n.mode), "-", "-"
		if n.typ == "symlink" {
			mode, link = "-", show(n.link)
		}
		if n.typ == "file" {
			sum = fmt.Sprintf("%x", sha256.Sum256(n.data))
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", show(p), n.typ, mode, n.uid, n.gid, len(n.data), link, sum)
	}
	return b.String()
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	var lenBuf [4]byte
	for {
		if _, err := io.ReadFull(in, lenBuf[:]); err != nil {
			break
		}
		buf := make([]byte, binary.BigEndian.Uint32(lenBuf[:]))
		if _, err := io.ReadFull(in, buf); err != nil {
			fmt.Fprintln(os.Stderr, "tarlist: short frame:", err)
			os.Exit(2)
		}
		var answer string
		// A stream, not a seeker: containerd reads layers from a decompressor.
		if f, err := apply(struct{ io.Reader }{bytes.NewReader(buf)}); err != nil {
			answer = "refused: " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n"
		} else {
			answer = list(f)
		}
		binary.BigEndian.PutUint32(lenBuf[:], uint32(len(answer)))
		out.Write(lenBuf[:])
		out.WriteString(answer)
		out.Flush()
	}
}
