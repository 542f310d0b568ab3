package scenarios_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/leakgate/leakgate/restore/adapter"
)

var _ = Describe("the shipped configs", Label("configs"), func() {
	shared := filepath.Join("..", "..", "shared", "fixtures", "aptos-configs")
	copies := filepath.Join("..", "testdata", "aptos-configs")

	It("are vendored byte for byte", func() {
		if _, err := os.Stat(shared); err != nil {
			Skip("../shared/fixtures/aptos-configs is not next to the project; the vendored copies are in use: " + err.Error())
		}
		names, err := filepath.Glob(filepath.Join(shared, "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(names).NotTo(BeEmpty())
		for _, orig := range names {
			want, err := os.ReadFile(orig)
			Expect(err).NotTo(HaveOccurred())
			got, err := os.ReadFile(filepath.Join(copies, filepath.Base(orig)))
			Expect(err).NotTo(HaveOccurred(), "vendored copy of %s", filepath.Base(orig))
			Expect(got).To(Equal(want), "testdata/aptos-configs/%s differs from the shared original", filepath.Base(orig))
		}
	})

	It("load, except local_folder.sample.yaml, which is rejected naming env_vars", func() {
		names, err := filepath.Glob(filepath.Join(filepath.Dir(sharedConfig("s3.sample.yaml")), "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(len(names)).To(BeNumerically(">=", 10))
		for _, name := range names {
			_, err := adapter.LoadConfig(name)
			if filepath.Base(name) == "local_folder.sample.yaml" {
				Expect(err).To(MatchError(adapter.ErrConfig))
				Expect(err.Error()).To(MatchRegexp(`local_folder\.sample\.yaml:2:\d+: env_vars`))
				continue
			}
			Expect(err).NotTo(HaveOccurred(), name)
		}
	})
})
