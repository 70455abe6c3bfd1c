// A small vcsim for the esx tests, built from Debian's golang-github-vmware-govmomi-dev (0.24.2),
// which ships govmomi's simulator library but not upstream's vcsim command
// (scripts/setup-vcsim.sh builds it). It serves one simulated inventory on the address given and
// prints one JSON line on stdout once it listens: {"url": ".../sdk", "cert": "<PEM file>"}.
// It stops when stdin closes, so a test runner that dies takes it along.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	listen := flag.String("l", "127.0.0.1:0", "address to listen on")
	username := flag.String("username", "", "the one user accepted (default: any non-empty)")
	password := flag.String("password", "", "its password")
	certOut := flag.String("cert-out", "", "write the server's PEM certificate here")
	esxMode := flag.Bool("esx", false, "a standalone ESXi instead of a vCenter")
	dc := flag.Int("dc", 1, "datacenters")
	ds := flag.Int("ds", 1, "datastores")
	pg := flag.Int("pg", 1, "distributed portgroups per datacenter")
	cluster := flag.Int("cluster", 1, "clusters per datacenter")
	host := flag.Int("host", 1, "hosts per cluster")
	standalone := flag.Int("standalone-host", 1, "standalone hosts per datacenter")
	pool := flag.Int("pool", 0, "child resource pools per cluster")
	vm := flag.Int("vm", 2, "virtual machines per resource pool")
	folder := flag.Int("folder", 0, "folders holding each datacenter")
	autostart := flag.Bool("autostart", true, "power on the created VMs")
	flag.Parse()

	model := simulator.VPX()
	if *esxMode {
		model = simulator.ESX()
	} else {
		model.Datacenter = *dc
		model.Portgroup = *pg
		model.Cluster = *cluster
		model.ClusterHost = *host
		model.Host = *standalone
		model.Pool = *pool
		model.Folder = *folder
	}
	model.Datastore = *ds
	model.Machine = *vm
	model.Autostart = *autostart

	if err := model.Create(); err != nil {
		fail("creating the model", err)
	}
	defer model.Remove()

	u := &url.URL{Host: *listen}
	if *username != "" {
		u.User = url.UserPassword(*username, *password)
	}
	model.Service.Listen = u
	// A fresh P-256 certificate per run: the simulator's built-in one is Go's shared test
	// certificate with a 1024-bit RSA key, which OpenSSL's default security level refuses.
	cert, certPEM := selfSigned()
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	server := model.Service.NewServer()
	defer server.Close()

	if *certOut != "" {
		if err := ioutil.WriteFile(*certOut, certPEM, 0o644); err != nil {
			fail("writing the certificate", err)
		}
	}
	plain := *server.URL
	plain.User = nil
	line, _ := json.Marshal(map[string]string{"url": plain.String(), "cert": *certOut})
	fmt.Println(string(line))

	done := make(chan struct{})
	go func() { _, _ = io.Copy(ioutil.Discard, os.Stdin); close(done) }()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	select {
	case <-done:
	case <-signals:
	}
}

func selfSigned() (tls.Certificate, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fail("generating a key", err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "vcsim"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		fail("creating the certificate", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "vcsim: %s: %v\n", what, err)
	os.Exit(1)
}
