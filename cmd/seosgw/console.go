package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/sys/unix"

	"github.com/seosgw/seosgw/gateway/config"
	"github.com/seosgw/seosgw/gateway/console"
)

// The console's users: the file console.users_file names, written here
// and read by the running console at the next request.
func consoleVerbs() map[string]command {
	return map[string]command{
		"user": {args: "VERB ...", summary: "the console's users: add (or change), remove, list", verbs: map[string]command{
			"add": {args: "[--config FILE] --role viewer|operator [--no-password] NAME", summary: "add a user or set their role and password (read from the terminal, or a line of standard input)",
				run: consoleUserAdd, help: consoleUserAddHelp},
			"remove": {args: "[--config FILE] NAME", summary: "remove a user (their sessions end at their next request)", run: consoleUserRemove},
			"list":   {args: "[--config FILE]", summary: "list the users and their roles", run: consoleUserList},
		}},
	}
}

const consoleUserAddHelp = `viewer: reads every page; operator: also retries and cancels documents. The password (12 to 72 bytes) is
asked twice on a terminal, or read as the first line of standard input (echo "$PW" | seosgw console user add ...).
--no-password: the user logs in with a client certificate only (console.tls.client_ca; the certificate's
common name or e-mail address is NAME). The file keeps bcrypt hashes; it is written with mode 0600.`

// usersPath is console.users_file of the configuration.
func usersPath(path string) (string, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return "", err
	}
	if cfg.Console.UsersFile == "" {
		return "", errors.New("console.users_file is not set in the configuration")
	}
	return cfg.Path(cfg.Console.UsersFile), nil
}

// readUsers reads the users file the configuration at path names.
func readUsers(path string) (string, *console.Users, error) {
	file, err := usersPath(path)
	if err != nil {
		return "", nil, err
	}
	users, err := console.ReadUsersFile(file)
	return file, users, err
}

func consoleUserAdd(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	role := enumFlag(fs, "role", "", "viewer (read only) or operator (also retry and cancel)", string(console.Viewer), string(console.Operator))
	noPassword := fs.Bool("no-password", false, "client certificate login only")
	name, code, ok := io.parseOne(fs, args, "NAME")
	if !ok {
		return code
	}
	if *role == "" {
		return io.usageError(fs, "--role: give viewer or operator")
	}
	if !console.ValidName(name) {
		return io.usageError(fs, "%q is not a user name (letters, digits, . _ @ + -, up to 128)", name)
	}
	path, err := usersPath(*cfgPath)
	if err != nil {
		return fail(io, "%s: %v", io.name, err)
	}
	hash := console.NoPassword
	if !*noPassword {
		pw, err := readPassword(io)
		if err != nil {
			return fail(io, "%s: %v", io.name, err)
		}
		if hash, err = console.HashPassword(pw); err != nil {
			return fail(io, "%s: %v", io.name, err)
		}
	}
	users, err := console.ReadUsersFile(path)
	if err != nil {
		return fail(io, "%s: %v", io.name, err)
	}
	_, existed := users.Find(name)
	if err := users.Set(console.User{Name: name, Role: console.Role(*role), Hash: hash}); err != nil {
		return fail(io, "%s: %v", io.name, err)
	}
	if err := console.WriteUsersFile(path, users); err != nil {
		return fail(io, "%s: %v", io.name, err)
	}
	what := "added"
	if existed {
		what = "changed"
	}
	fmt.Fprintf(io.out, "%s %s (%s) in %s\n", what, name, *role, path)
	return 0
}

// readPassword asks twice with echo off on a terminal; otherwise it reads
// the first line of standard input.
func readPassword(io stdio) (string, error) {
	if f, ok := io.in.(*os.File); ok {
		if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			first, err := readHidden(io, f, "Password: ")
			if err != nil {
				return "", err
			}
			again, err := readHidden(io, f, "Again: ")
			if err != nil {
				return "", err
			}
			if first != again {
				return "", errors.New("the two passwords differ")
			}
			return first, nil
		}
	}
	line, err := bufio.NewReader(io.in).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("no password on standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func readHidden(io stdio, f *os.File, prompt string) (string, error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", err
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return "", err
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	fmt.Fprint(io.err, prompt)
	line, err := bufio.NewReader(f).ReadString('\n')
	fmt.Fprintln(io.err)
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func consoleUserRemove(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	name, code, ok := io.parseOne(fs, args, "NAME")
	if !ok {
		return code
	}
	path, users, err := readUsers(*cfgPath)
	if err != nil {
		return fail(io, "%s: %v", io.name, err)
	}
	if !users.Remove(name) {
		return fail(io, "%s: no user %q in %s", io.name, name, path)
	}
	if err := console.WriteUsersFile(path, users); err != nil {
		return fail(io, "%s: %v", io.name, err)
	}
	fmt.Fprintf(io.out, "removed %s from %s\n", name, path)
	return 0
}

func consoleUserList(ctx context.Context, args []string, io stdio) int {
	fs := io.flags()
	cfgPath := configFlag(fs)
	if code, ok := io.parseNoArgs(fs, args); !ok {
		return code
	}
	path, users, err := readUsers(*cfgPath)
	if err != nil {
		return fail(io, "%s: %v", io.name, err)
	}
	list := users.List()
	if len(list) == 0 {
		fmt.Fprintf(io.err, "no users in %s\n", path)
		return 0
	}
	tw := tabwriter.NewWriter(io.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tLOGIN")
	for _, u := range list {
		login := "password"
		if u.Hash == console.NoPassword {
			login = "certificate"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, u.Role, login)
	}
	tw.Flush()
	return 0
}
