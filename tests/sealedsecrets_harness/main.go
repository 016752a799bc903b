// Command sealedsecrets-harness cross-checks kuploy-gitops's sealing against the real
// sealed-secrets code (github.com/bitnami-labs/sealed-secrets), in both directions:
//
//	unseal KEY.pem < sealedsecret.yaml
//	    opens a SealedSecret with the controller's own SealedSecret.Unseal and prints the
//	    resulting Secret's name, namespace and data (as text) as JSON.
//	seal CERT.pem NAMESPACE NAME < plaintext
//	    seals stdin with the module's crypto.HybridEncrypt for the strict scope (label from
//	    v1alpha1.EncryptionLabel) and prints the ciphertext as standard base64.
//
// Test-only: written for kuploy-gitops's slow tier (tests/test_sealing_go.py).
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"

	ssv1alpha1 "github.com/bitnami/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	"github.com/bitnami/sealed-secrets/pkg/crypto"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/yaml"
)

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func pemBlock(path string) *pem.Block {
	data, err := os.ReadFile(path)
	if err != nil {
		die("read %s: %v", path, err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		die("%s: no PEM block", path)
	}
	return block
}

func privateKey(path string) *rsa.PrivateKey {
	block := pemBlock(path)
	if key, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return key
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		die("%s: not an RSA private key: %v", path, err)
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		die("%s: not an RSA private key", path)
	}
	return rsaKey
}

func publicKey(path string) *rsa.PublicKey {
	cert, err := x509.ParseCertificate(pemBlock(path).Bytes)
	if err != nil {
		die("%s: not a certificate: %v", path, err)
	}
	key, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		die("%s: not an RSA certificate", path)
	}
	return key
}

func unseal(keyPath string) {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		die("read stdin: %v", err)
	}
	var ss ssv1alpha1.SealedSecret
	if err := yaml.UnmarshalStrict(input, &ss); err != nil {
		die("parse SealedSecret: %v", err)
	}
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		die("scheme: %v", err)
	}
	codecs := serializer.NewCodecFactory(scheme)
	key := privateKey(keyPath)
	fp, err := crypto.PublicKeyFingerprint(&key.PublicKey)
	if err != nil {
		die("fingerprint: %v", err)
	}
	secret, err := ss.Unseal(codecs, map[string]*rsa.PrivateKey{fp: key})
	if err != nil {
		die("unseal: %v", err)
	}
	data := map[string]string{}
	for k, v := range secret.Data {
		data[k] = string(v)
	}
	out, err := json.Marshal(map[string]any{
		"name": secret.Name, "namespace": secret.Namespace, "type": string(secret.Type), "data": data,
	})
	if err != nil {
		die("json: %v", err)
	}
	fmt.Println(string(out))
}

func seal(certPath, namespace, name string) {
	plaintext, err := io.ReadAll(os.Stdin)
	if err != nil {
		die("read stdin: %v", err)
	}
	label := ssv1alpha1.EncryptionLabel(namespace, name, ssv1alpha1.StrictScope)
	ciphertext, err := crypto.HybridEncrypt(rand.Reader, publicKey(certPath), plaintext, label)
	if err != nil {
		die("seal: %v", err)
	}
	fmt.Println(base64.StdEncoding.EncodeToString(ciphertext))
}

func main() {
	switch {
	case len(os.Args) == 3 && os.Args[1] == "unseal":
		unseal(os.Args[2])
	case len(os.Args) == 5 && os.Args[1] == "seal":
		seal(os.Args[2], os.Args[3], os.Args[4])
	default:
		die("usage: %s unseal KEY.pem < sealedsecret.yaml | seal CERT.pem NAMESPACE NAME < plaintext", os.Args[0])
	}
}
