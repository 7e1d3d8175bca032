package console

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Role is what a console user may do.
type Role string

const (
	Viewer   Role = "viewer"   // reads every page
	Operator Role = "operator" // also retries and cancels documents
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == Viewer || r == Operator }

// User is one line of the users file: NAME ROLE HASH. A HASH of "!" means
// no password: the user logs in with a client certificate only.
type User struct {
	Name string
	Role Role
	Hash string // bcrypt, or NoPassword
}

// NoPassword is the hash of a user who logs in with a certificate only.
const NoPassword = "!"

// BcryptCost is the cost `seosgw console user add` hashes with.
const BcryptCost = 12

// Users is the users file's content.
type Users struct {
	list []User
}

// maxUsersFile bounds what ParseUsers reads: a users file is a few lines.
const maxUsersFile = 1 << 20

var userName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$`)

// ValidName reports whether name can be a console user's: letters, digits
// and . _ @ + - (an e-mail address is one), up to 128 characters.
func ValidName(name string) bool { return userName.MatchString(name) }

// ParseUsers reads a users file: one user a line, NAME ROLE HASH separated
// by spaces; blank lines and lines starting with # are skipped. Every
// problem is named with its line.
func ParseUsers(r io.Reader) (*Users, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxUsersFile+1))
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	if len(b) > maxUsersFile {
		return nil, fmt.Errorf("users file: larger than %d bytes", maxUsersFile)
	}
	u := &Users{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4096), maxUsersFile)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("users file line %d: want NAME ROLE HASH, got %d fields", n, len(f))
		}
		usr := User{Name: f[0], Role: Role(f[1]), Hash: f[2]}
		switch {
		case !ValidName(usr.Name):
			return nil, fmt.Errorf("users file line %d: %q is not a user name (letters, digits, . _ @ + -, up to 128)", n, usr.Name)
		case !usr.Role.Valid():
			return nil, fmt.Errorf("users file line %d: role %q; use viewer or operator", n, f[1])
		case usr.Hash != NoPassword && !isBcrypt(usr.Hash):
			return nil, fmt.Errorf("users file line %d: the hash of %s is not bcrypt; set the password again with seosgw console user add", n, usr.Name)
		case seen[strings.ToLower(usr.Name)]:
			return nil, fmt.Errorf("users file line %d: %s is listed twice", n, usr.Name)
		}
		seen[strings.ToLower(usr.Name)] = true
		u.list = append(u.list, usr)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	return u, nil
}

func isBcrypt(h string) bool {
	_, err := bcrypt.Cost([]byte(h))
	return err == nil
}

// List returns the users in file order.
func (u *Users) List() []User { return append([]User(nil), u.list...) }

// Find returns the user of that name (case-insensitive, ASCII only: with
// Unicode folding "boriſ" would be boris under a name the login limiter
// counts apart).
func (u *Users) Find(name string) (User, bool) {
	if !ValidName(name) {
		return User{}, false
	}
	for _, usr := range u.list {
		if strings.EqualFold(usr.Name, name) {
			return usr, true
		}
	}
	return User{}, false
}

// Set adds a user or replaces the one of that name.
func (u *Users) Set(usr User) error {
	if !ValidName(usr.Name) {
		return fmt.Errorf("%q is not a user name (letters, digits, . _ @ + -, up to 128)", usr.Name)
	}
	if !usr.Role.Valid() {
		return fmt.Errorf("role %q; use viewer or operator", usr.Role)
	}
	for i := range u.list {
		if strings.EqualFold(u.list[i].Name, usr.Name) {
			u.list[i] = usr
			return nil
		}
	}
	u.list = append(u.list, usr)
	return nil
}

// Remove drops a user; false when there was none of that name.
func (u *Users) Remove(name string) bool {
	for i := range u.list {
		if strings.EqualFold(u.list[i].Name, name) {
			u.list = append(u.list[:i], u.list[i+1:]...)
			return true
		}
	}
	return false
}

// Format writes the file's text.
func (u *Users) Format() []byte {
	var b bytes.Buffer
	b.WriteString("# seosgw console users: NAME ROLE HASH (bcrypt; ! = client certificate only).\n# Written by seosgw console user add/remove.\n")
	for _, usr := range u.list {
		fmt.Fprintf(&b, "%s %s %s\n", usr.Name, usr.Role, usr.Hash)
	}
	return b.Bytes()
}

// HashPassword hashes a password for the users file.
func HashPassword(password string) (string, error) {
	if len(password) < 12 {
		return "", errors.New("the password is shorter than 12 characters")
	}
	if len(password) > 72 {
		return "", errors.New("the password is longer than 72 bytes (bcrypt's limit)")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// ReadUsersFile reads and parses a users file; a missing file is no users.
func ReadUsersFile(path string) (*Users, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Users{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	defer f.Close()
	u, err := ParseUsers(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}

// WriteUsersFile replaces the users file atomically, mode 0600.
func WriteUsersFile(path string, u *Users) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("users file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("users file: %w", err)
	}
	if _, err := tmp.Write(u.Format()); err != nil {
		tmp.Close()
		return fmt.Errorf("users file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("users file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("users file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("users file: %w", err)
	}
	return nil
}

// userSource re-reads the users file when it changes, so that a user
// removed or demoted by `seosgw console user` is so at the next request.
type userSource struct {
	path string
	mu   sync.Mutex
	mod  time.Time
	size int64
	u    *Users
	err  error
}

func (s *userSource) current() (*Users, error) {
	st, err := os.Stat(s.path)
	if err != nil {
		return nil, fmt.Errorf("console.users_file: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.u == nil || !st.ModTime().Equal(s.mod) || st.Size() != s.size {
		s.mod, s.size = st.ModTime(), st.Size()
		s.u, s.err = ReadUsersFile(s.path)
	}
	return s.u, s.err
}

// names lists the users, sorted, for messages.
func (u *Users) names() []string {
	out := make([]string, len(u.list))
	for i, usr := range u.list {
		out[i] = usr.Name
	}
	sort.Strings(out)
	return out
}
