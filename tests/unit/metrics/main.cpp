#define BOOST_TEST_MODULE metrics_unit
#include <boost/test/unit_test.hpp>
